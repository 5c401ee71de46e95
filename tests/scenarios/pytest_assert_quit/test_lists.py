def make(n):
    return list(range(1, n + 1))


def test_lists():
    assert make(3) == [1, 2, 4]
