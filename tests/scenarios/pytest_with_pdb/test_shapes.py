class Square:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * 4


class TestSquare:
    def test_area(self):
        assert Square(3).area() == 9
