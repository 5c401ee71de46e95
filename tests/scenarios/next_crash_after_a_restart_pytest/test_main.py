from main import build


def test_build():
    assert build() == ([0, 1, 3], "s1")
