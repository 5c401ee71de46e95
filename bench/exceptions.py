"""What handled exceptions cost once their functions are wrapped.

    python bench/exceptions.py

A program raises 100,000 KeyErrors in a wrapped function and catches each
in its caller.  Every one of them passes through the wrapped function's
handler, which decides (from the caller's try statement) not to stop.  Then
the same through three and through eleven wrapped functions, the outermost
catching, as in a recursive-descent parser, where each handler decides.
Printed: the time plain, wrapped, and the ratio, for each.
"""

import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.dont_write_bytecode = True

import hot_restart  # noqa: E402

PROGRAM = '''
def lookup(table, key):
    return table[key]


def count_missing(keys):
    table = {"present": 1}
    missing = 0
    for key in keys:
        try:
            lookup(table, key)
        except KeyError:
            missing += 1
    return missing


def parse_item(table, key):
    return lookup(table, key)


def parse_sequence(table, key):
    return parse_item(table, key)


def descend(table, key, depth):
    if depth == 0:
        return lookup(table, key)
    return descend(table, key, depth - 1)


def count_failed_descents(keys):
    table = {"present": 1}
    failed = 0
    for key in keys:
        try:
            descend(table, key, 9)
        except KeyError:
            failed += 1
    return failed


def count_failed_parses(keys):
    table = {"present": 1}
    failed = 0
    for key in keys:
        try:
            parse_sequence(table, key)
        except (KeyError, IndexError):
            failed += 1
    return failed
'''


def best(entry, n=100_000, repeat=5):
    keys = ["absent"] * n
    result = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        assert entry(keys) == n
        result = min(result, time.perf_counter() - t0)
    return result


def main():
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, tmp)
        for name in ("plain_program", "wrapped_program"):
            (Path(tmp) / f"{name}.py").write_text(PROGRAM)
        import plain_program
        import wrapped_program
        hot_restart.wrap_module(wrapped_program)
        print(f"Python {sys.version.split()[0]}: 100,000 KeyErrors")
        for what, name in (("raised in a wrapped function, caught by its caller",
                            "count_missing"),
                           ("through three wrapped functions, caught above them",
                            "count_failed_parses"),
                           ("through eleven wrapped functions, caught above them",
                            "count_failed_descents")):
            plain = best(getattr(plain_program, name))
            wrapped = best(getattr(wrapped_program, name))
            print(f"{what}: plain {plain * 1000:.0f} ms, wrapped {wrapped * 1000:.0f} ms, "
                  f"ratio {wrapped / plain:.1f} ({(wrapped - plain) / 100_000 * 1e6:.2f} us "
                  f"per exception)")


if __name__ == "__main__":
    main()
