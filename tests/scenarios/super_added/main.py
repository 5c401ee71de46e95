import hot_restart


class Shape:
    def describe(self):
        return "a shape"


@hot_restart.wrap_class
class Square(Shape):
    def __init__(self, side):
        self.side = side

    def describe(self):
        return "square of side " + self.side


sq = Square(3)
print(sq.describe())
