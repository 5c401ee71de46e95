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


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Each in-process test starts with an empty registry and no stop
    decisions or caches left by another."""
    import hot_restart
    monkeypatch.setattr(hot_restart, "_registry", hot_restart._Registry())
    monkeypatch.setattr(hot_restart, "_stops", hot_restart._Stops())
    monkeypatch.setattr(hot_restart, "_caches", hot_restart._StopCaches())
