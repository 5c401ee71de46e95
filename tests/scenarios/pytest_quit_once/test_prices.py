import prices


def test_total():
    assert prices.total([{"price": 2}, {"price": 3}]) == 5
