"""What watch mode costs and how fast it is.

Makes a project of N modules (500 by default, each with a few wrapped
functions), imports them all with the watcher running, and measures:

- idle: the CPU time the process spends over a while with nothing saved
  (the main thread sleeps, so that is the watcher's), as a share of one core;
- save to effect: a module is saved with a changed function (written the
  way editors do: to a new file, then renamed over the old), and the main
  thread calls the function until it returns the new value; the time from
  the save to the first new value, over several saves (median and worst).

    python bench/watch.py [--files N] [--idle SECONDS] [--saves N] [--poll]
"""

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hot_restart  # noqa: E402

MODULE = '''\
"""Module {n} of the watched project."""


def value():
    return {version}


def helper(x):
    return x + {n}


class Thing:
    def method(self):
        return helper({n})
'''


def _save(path, text):
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--poll", action="store_true",
                        help="look at every file each WATCH_INTERVAL, as where the OS "
                             "gives no notices of changes (not Linux)")
    options = parser.parse_args()
    if options.poll:
        hot_restart._FolderNotices.open = classmethod(lambda cls: None)
    folder = Path(tempfile.mkdtemp(prefix="hr-watch-"))
    sys.path.insert(0, str(folder))
    for n in range(options.files):
        (folder / f"watched_{n}.py").write_text(MODULE.format(n=n, version=0))
    hot_restart.install_import_hook([str(folder)])
    modules = [importlib.import_module(f"watched_{n}") for n in range(options.files)]
    watched = len(hot_restart._registry.files)
    hot_restart.watch()
    time.sleep(1)  # the watcher's first looks

    cpu, wall = time.process_time(), time.perf_counter()
    time.sleep(options.idle)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    how = (f"a look every {hot_restart.WATCH_INTERVAL} s" if options.poll
           else "the OS's notices of changes (inotify)")
    print(f"python {sys.version.split()[0]}: {watched} watched files, {how}")
    print(f"idle: {100 * cpu / wall:.2f}% of one core ({cpu * 1000:.0f} ms of CPU in "
          f"{wall:.1f} s)")

    delays = []
    target = modules[options.files // 2]
    path = Path(target.__file__)
    for version in range(1, options.saves + 1):
        time.sleep(0.3)
        started = time.perf_counter()
        _save(path, MODULE.format(n=options.files // 2, version=version))
        while target.value() != version:
            time.sleep(0.001)
        delays.append(time.perf_counter() - started)
    print(f"save to effect over {len(delays)} saves: median {statistics.median(delays):.3f} s, "
          f"worst {max(delays):.3f} s")


if __name__ == "__main__":
    main()
