def test_passes():
    print("output of a passing test")


def test_fails():
    print("output of a failing test")
    assert 1 + 1 == 3
