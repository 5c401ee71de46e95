import os
import sys


def test_probe():
    """Writes down whether this test runs instrumented code, so that a
    comparison of outputs knows hot-restart was on in the run it compares."""
    names = sys._getframe().f_code.co_names
    on = any(name.startswith("@hot_restart") for name in names)
    path = os.environ.get("HOT_RESTART_PROBE")
    if path:
        with open(path, "w") as f:
            f.write("instrumented" if on else "plain")
