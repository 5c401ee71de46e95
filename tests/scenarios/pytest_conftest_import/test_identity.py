import helpers


def test_instrumented_from_birth():
    assert "@hot_restart.propagate" in helpers.total.__code__.co_names
    assert helpers.total.__code__ is helpers.CODE_AT_IMPORT


def test_total():
    assert helpers.total([{"amount": 2}]) == 2
