"""Start-up cost of ``python -m hot_restart script.py`` against ``python script.py``.

    python bench/startup.py

Builds a 20-module project (20 functions each) and a script that imports
all of it, then times each way of running the script in fresh processes
(best of 15, alternating): plain, with hot-restart the first time (nothing
cached) and with hot-restart again (instrumented code cached beside the
.pyc files).  hot-restart instruments only with a terminal on stdin, so the
runs get one (a pseudo-terminal).
"""

import math
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_project(folder):
    package = folder / "project"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for m in range(20):
        body = "".join(
            f"def func_{m}_{f}(a, b=2):\n"
            f"    total = a\n"
            f"    for i in range(b):\n"
            f"        total += i * {f}\n"
            f"    return total\n\n\n" for f in range(20))
        (package / f"module_{m}.py").write_text(body)
    (folder / "script.py").write_text(
        "".join(f"import project.module_{m}\n" for m in range(20))
        + "print(project.module_19.func_19_19(1))\n")


def timed(command, folder):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("HOT_RESTART", None)
    main, child = pty.openpty()
    t0 = time.perf_counter()
    subprocess.run(command, cwd=folder, env=env, stdin=child, stdout=subprocess.DEVNULL,
                   check=True)
    seconds = time.perf_counter() - t0
    os.close(main)
    os.close(child)
    return seconds


def clear_caches(folder):
    for cache in folder.rglob("__pycache__"):
        shutil.rmtree(cache)


def main():
    plain = [sys.executable, "script.py"]
    wrapped = [sys.executable, "-m", "hot_restart", "script.py"]
    best = {"plain": math.inf, "first run": math.inf, "cached": math.inf}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_project(folder)
        for _ in range(15):
            clear_caches(folder)
            timed(plain, folder)  # let the interpreter write its own .pyc
            best["plain"] = min(best["plain"], timed(plain, folder))
            for cache in folder.rglob("*.opt-hotrestart*.pyc"):
                cache.unlink()
            best["first run"] = min(best["first run"], timed(wrapped, folder))
            best["cached"] = min(best["cached"], timed(wrapped, folder))
    print(f"Python {sys.version.split()[0]}, a script importing 20 modules of 20 functions")
    for name, seconds in best.items():
        extra = "" if name == "plain" else f"  (+{(seconds - best['plain']) * 1000:.0f} ms)"
        print(f"{name:10} {seconds * 1000:7.1f} ms{extra}")


if __name__ == "__main__":
    main()
