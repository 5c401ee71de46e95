import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# tests/scenarios holds programs (and test files) that the scenarios run, and
# tests/plugin_project a project that test_plugin.py runs pytest on; they are
# not tests of this suite.
collect_ignore_glob = ["scenarios/*", "plugin_project"]

# The programs the tests start hold their sessions in their own terminal (or
# wait for attach where a test says so), never in a terminal that this run
# inherited from a program started with hot-restart.
for _name in ("HOT_RESTART_TERMINAL", "HOT_RESTART_TOKEN", "HOT_RESTART_LISTEN",
              "HOT_RESTART_ATTACH", "HOT_RESTART_ATTACH_TIMEOUT"):
    os.environ.pop(_name, None)


def pytest_collection_modifyitems(config, items):
    """HOT_RESTART_TESTS=core (CI on the Pythons other than the default one)
    leaves out the integrations with large frameworks, marked heavy: they
    are deselected, and pytest's summary counts them as such."""
    if os.environ.get("HOT_RESTART_TESTS") != "core":
        return
    heavy = [item for item in items if item.get_closest_marker("heavy")]
    if heavy:
        config.hook.pytest_deselected(items=heavy)
        items[:] = [item for item in items if not item.get_closest_marker("heavy")]


def edit(path, old, new):
    """Replace ``old`` by ``new`` in the file ``path``, as an editor saves it
    (at least a tick later: the stamp moves)."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Each in-process test starts with an empty registry and no stop
    decisions or caches left by another."""
    import hot_restart
    monkeypatch.setattr(hot_restart, "_registry", hot_restart._Registry())
    monkeypatch.setattr(hot_restart, "_stops", hot_restart._Stops())
    monkeypatch.setattr(hot_restart, "_caches", hot_restart._StopCaches())
    # nor in this process's terminal, when the suite runs in one
    monkeypatch.setattr(hot_restart, "_elsewhere", hot_restart._Elsewhere())
    hot_restart._elsewhere.started = True
