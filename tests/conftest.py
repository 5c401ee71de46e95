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


# HOT_RESTART_TESTS=fast, the inner loop: the in-process tests (the
# transformer, the stop decision, reload planning, patch) and a few
# scenarios in a real terminal under pdb: a crash fixed and continued, the
# next crash after a restart, a handled exception, a deleted function, no
# terminal.
FAST_MODULES = {"test_transform.py", "test_decisions.py", "test_reload.py", "test_watch.py",
                "test_holder.py", "test_layout.py"}
FAST_SCENARIOS = {"demo", "next_crash_after_a_restart", "handled", "deleted_function",
                  "edited_twice", "no_terminal"}


def _in_the_fast_lane(item):
    if item.path.name in FAST_MODULES:
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    return (item.path.name == "test_scenarios.py" and params.get("name") in FAST_SCENARIOS
            and params.get("debugger") == "pdb")


def pytest_collection_modifyitems(config, items):
    """HOT_RESTART_TESTS=core (CI on the Pythons other than the default one)
    leaves out the integrations with large frameworks, marked heavy;
    HOT_RESTART_TESTS=fast keeps the fast lane only (see above).  What is
    left out is deselected, and pytest's summary counts it as such."""
    lane = os.environ.get("HOT_RESTART_TESTS")
    if lane == "core":
        left_out = [item for item in items if item.get_closest_marker("heavy")]
    elif lane == "fast":
        left_out = [item for item in items if not _in_the_fast_lane(item)]
    else:
        return
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        gone = {id(item) for item in left_out}
        items[:] = [item for item in items if id(item) not in gone]


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
