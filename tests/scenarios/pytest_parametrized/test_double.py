import pytest


def double(x):
    if x > 2:
        return x + x + 1
    return x + x


@pytest.mark.parametrize("value", [1, 2, 3])
def test_double(value):
    assert double(value) == 2 * value
