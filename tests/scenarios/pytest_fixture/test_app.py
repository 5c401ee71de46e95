import pytest

import app

built = []


@pytest.fixture
def prices():
    built.append(1)
    print("fixture built", len(built))
    return [{"price": 2}, {"price": 3}]


def test_total(prices):
    assert app.total(prices) == 5
    print("fixture was built", len(built), "time(s)")
