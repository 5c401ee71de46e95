"""pytest plugin for bench/library.py: wrap every module of the library under test.

Loaded with ``-p wrap_library_plugin``.  The library's package name comes
from the environment variable HOT_RESTART_LIBRARY; with
HOT_RESTART_LIBRARY_MODE=wrapped its modules are wrapped with
``wrap_modules``, otherwise (under ``--hot-restart``) only counted.
"""

import importlib
import os
import pkgutil

import hot_restart


def pytest_configure(config):
    if os.environ.get("HOT_RESTART_LIBRARY_MODE") == "wrapped":
        name = os.environ["HOT_RESTART_LIBRARY"]
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
            try:
                importlib.import_module(module.name)
            except Exception:  # an optional part whose dependency is missing
                pass
        hot_restart.wrap_modules(name, name + ".*")


def pytest_terminal_summary(terminalreporter):
    name = os.environ["HOT_RESTART_LIBRARY"]
    wrapped = sum(len(d.functions) for d in hot_restart._registry.definitions.values()
                  if os.sep + name.replace(".", os.sep) + os.sep in d.path)
    terminalreporter.write_line(f"hot-restart: {wrapped} functions of {name} wrapped")


if os.environ.get("HOT_RESTART_LIBRARY_RECORD"):
    # Diagnosis: record where hot-restart would stop (as if in a terminal),
    # with the callers, instead of opening a debugger.
    import traceback

    def _record(session):
        with open(os.environ["HOT_RESTART_LIBRARY_RECORD"], "a") as out:
            out.write(f"=== {type(session.exc).__name__} in {session.frame.f_code.co_name} "
                      f"({os.environ.get('PYTEST_CURRENT_TEST')}): "
                      f"{str(session.exc)[:100]}\n")
            out.writelines(traceback.format_stack(session.frame, limit=16))
        return True

    hot_restart._has_terminal = lambda: True
    hot_restart._run_session = _record
