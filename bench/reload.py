"""Speed and memory of reloading, in milliseconds and kilobytes.

    python bench/reload.py

1. ``reload()`` over 500 wrapped modules, none of them changed.
2. Reloading one changed function in a 10,000-line file.
3. Memory after 1,000 edit-and-reload rounds of the same function.
"""

import gc
import math
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.dont_write_bytecode = True

import hot_restart  # noqa: E402


def _touch(path, text):
    path.write_text(text)
    st = path.stat()  # a later stamp, as an editor saving a moment later would leave
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _import(folder, name):
    sys.path.insert(0, str(folder))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(folder))


def _best(fn, repeat):
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def many_unchanged(folder, count=500):
    for i in range(count):
        (folder / f"many_{i}.py").write_text(
            "".join(f"def f{j}(x):\n    return x + {j}\n\n\n" for j in range(3)))
    for i in range(count):
        hot_restart.wrap_module(_import(folder, f"many_{i}"))
    return _best(hot_restart._reload_files, 20)


def big_file(folder, functions=500):
    body = "".join(
        f"def func_{i}(a, b):\n"
        f"    '''Function {i}.'''\n"
        + "".join(f"    a = a + b * {k}\n" for k in range(15))
        + f"    return a - {i}\n\n\n"
        for i in range(functions))
    path = folder / "big.py"
    path.write_text(body)
    module = _import(folder, "big")
    hot_restart.wrap_module(module)
    lines = len(body.splitlines())
    middle = functions // 2
    old = f"    return a - {middle}\n"
    times = []
    for n in range(10):
        new = f"    return a - {middle} + {n + 1}\n"
        _touch(path, body.replace(old, new))
        t0 = time.perf_counter()
        found = hot_restart._reload_files()
        times.append((time.perf_counter() - t0) * 1000)
        assert found and found[0].events == [hot_restart._Event(
            hot_restart._CHANGED, f"func_{middle}", None)], found[0].events
        assert getattr(module, f"func_{middle}")(0, 0) == -middle + n + 1
    return lines, min(times)


def memory(folder, rounds=1000):
    path = folder / "memo.py"
    path.write_text("def target(x):\n    return x + 0\n")
    module = _import(folder, "memo")
    hot_restart.wrap_module(module)

    def round_(n):
        _touch(path, f"def target(x):\n    return x + {n}\n")
        hot_restart._reload_files()
        assert module.target(0) == n

    for n in range(1, 21):  # warm up: caches, interned names
        round_(n)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for n in range(21, 21 + rounds):
        round_(n)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return grown / 1024, len(hot_restart._registry._owners)


def main():
    print(f"Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        kb, owners = memory(folder)
        print(f"memory after 1000 reloads of one function: {kb:+.1f} KiB "
              f"({owners} code objects known to the registry)")
        ms = many_unchanged(folder)
        print(f"reload over 500 wrapped modules, none changed: {ms:.2f} ms")
        lines, ms = big_file(folder)
        print(f"reload of one changed function in a {lines}-line file: {ms:.1f} ms")


if __name__ == "__main__":
    main()
