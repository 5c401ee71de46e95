"""patch, revert and commit: a definition put in place from a string, through
the reload engine, taken back, and written into its file at its place."""

import importlib
import os
import sys
import threading
import warnings

import pytest

import hot_restart

MODULE = '''\
"""A module to patch."""
FACTOR = 10


def scale(x):
    return x * FACTOR


class Shape:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side ** 2


def make_adder(n):
    def add(x):
        return x + n
    return add


def after():
    return "untouched"
'''


@pytest.fixture
def module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "patched_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("patched_mod", None)
    mod = importlib.import_module("patched_mod")
    hot_restart.wrap_module(mod)
    yield mod, tmp_path / "patched_mod.py"
    sys.modules.pop("patched_mod", None)
    hot_restart._patches.clear()
    hot_restart._SENT.clear()


def test_patch_revert_commit_round_trip(module):
    mod, path = module
    scale = mod.scale  # a reference taken before: it sees each change
    report = hot_restart.patch(mod.scale, "def scale(x):\n    return x * FACTOR + 1\n")
    assert report == "> reloaded patched_mod.py: scale (changed)"
    assert scale(2) == 21 and mod.scale is scale
    assert path.read_text() == MODULE  # the file is not written

    assert hot_restart.revert(mod.scale) == "> reloaded patched_mod.py: scale (changed)"
    assert scale(2) == 20

    hot_restart.patch(scale, "    def scale(x):\n        return -x\n")  # any indentation
    assert scale(2) == -2
    hot_restart.commit(scale)
    assert path.read_text() == MODULE.replace("    return x * FACTOR\n", "    return -x\n")
    assert scale(2) == -2
    with pytest.raises(hot_restart.ReloadException, match="has no patch to revert"):
        hot_restart.revert(scale)


def test_patch_a_method_and_a_closure(module):
    mod, _ = module
    shape = mod.Shape(3)
    add = mod.make_adder(5)
    hot_restart.patch(mod.Shape.area, "def area(self):\n    return self.side * 4\n")
    assert shape.area() == 12
    hot_restart.patch(mod.make_adder,
                      "def make_adder(n):\n    def add(x):\n        return x + 2 * n\n"
                      "    return add\n")
    assert add(1) == 11  # the closure made before, with the new code
    assert mod.after() == "untouched"


def test_a_patch_that_does_not_compile_changes_nothing(module):
    mod, path = module
    with pytest.raises(hot_restart.ReloadException) as raised:
        hot_restart.patch(mod.scale, "def scale(x):\n    return (x\n")
    assert str(raised.value) == ("SyntaxError in patched_mod.py, line 6, column 12: '(' was "
                                 "never closed\n    return (x\n           ^; nothing was changed")
    assert mod.scale(2) == 20
    with pytest.raises(hot_restart.ReloadException, match="has no patch to commit"):
        hot_restart.commit(mod.scale)
    assert path.read_text() == MODULE


def test_an_unwrapped_function_is_refused():
    def plain():
        return 1

    with pytest.raises(hot_restart.ReloadException, match="is not wrapped"):
        hot_restart.patch(plain, "def plain():\n    return 2\n")


def test_a_function_wrapped_after_a_patch_of_its_file(tmp_path, monkeypatch):
    """The file's text is then the patched one, held in memory: the
    function is wrapped from it, as from the file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "later_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("later_mod", None)
    mod = importlib.import_module("later_mod")
    try:
        hot_restart.wrap(mod.scale)
        hot_restart.patch(mod.scale, "def scale(x):\n    return -x\n")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            hot_restart.wrap(mod.after)
        assert hot_restart._registry.owner(mod.after.__code__) is not None
        assert mod.after() == "untouched" and mod.scale(2) == -2
    finally:
        sys.modules.pop("later_mod", None)
        hot_restart._patches.clear()
        hot_restart._SENT.clear()


def test_the_watcher_leaves_a_save_to_the_open_session(module):
    """A save while a session is open (the session holds the registry's
    lock, in the thread that stopped) is seen by the watcher and left to the
    session, whose c loads it; once the session is over, the watcher's next
    look loads a save."""
    mod, path = module
    watcher = hot_restart._Watcher()
    assert not watcher.changed()
    path.write_text(MODULE.replace("x * FACTOR", "x * FACTOR + 1"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert watcher.changed()  # it sees the save ...
    held, done = threading.Event(), threading.Event()

    def session():
        with hot_restart._registry.lock:
            held.set()
            done.wait(10)

    thread = threading.Thread(target=session)
    thread.start()
    try:
        assert held.wait(10)
        assert watcher.look() is False  # ... and leaves it while the session is open
        assert mod.scale(2) == 20
    finally:
        done.set()
        thread.join()
    assert watcher.look() is True
    assert mod.scale(2) == 21
    assert not watcher.changed()
