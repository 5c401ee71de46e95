def test_first():
    assert sum([1, 2]) == 4


def test_second():
    assert True


def test_third():
    assert True
