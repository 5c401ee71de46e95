"""Exceptions that callers handle: none of them may stop the program."""
import contextlib
import unittest

import hot_restart


def lookup(table, key):
    return table[key]


def caught_by_caller():
    try:
        return lookup({}, "missing")
    except KeyError:
        return "default"


def parse(text):
    return int(text)


def suppressed():
    with contextlib.suppress(ValueError):
        parse("x")
    return "suppressed"


class Lazy:
    @property
    def missing(self):
        raise AttributeError("missing")

    def __getattr__(self, name):
        return f"fallback for {name}"


class Plain:
    @property
    def absent(self):
        raise AttributeError("absent")

    @property
    def __class__(self):
        raise AttributeError("no class")


class Countdown:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        return self.n


class OldStyle:
    def __getitem__(self, index):
        if index >= 3:
            raise IndexError(index)
        return index * 10


def reraiser():
    try:
        lookup({}, "k")
    except KeyError:
        raise


def finally_then_outer():
    try:
        try:
            reraiser()
        finally:
            pass
    except LookupError:
        return "outer handler"


def broad():
    results = []
    try:
        parse("y")
    except Exception:
        results.append("except Exception")
    try:
        parse("z")
    except BaseException:
        results.append("except BaseException")
    try:
        parse("w")
    except:  # noqa: E722
        results.append("bare except")
    try:
        parse("v")
    except (TypeError, ValueError) as exc:
        results.append(type(exc).__name__)
    return results


def with_assert_raises():
    case = unittest.TestCase()
    with case.assertRaises(KeyError):
        lookup({}, "x")
    return "assertRaises"


def main():
    print(caught_by_caller())
    print(suppressed())
    print(hasattr(Plain(), "absent"), getattr(Plain(), "absent", "default"))
    print(Lazy().missing)
    print(list(Countdown(3)), next(Countdown(0), "exhausted"))
    print(list(OldStyle()), [x for x in OldStyle()])
    print(isinstance(Plain(), Plain))
    print(finally_then_outer())
    print(broad())
    print(with_assert_raises())
    for _ in range(1000):
        caught_by_caller()
    print("done")


hot_restart.wrap_module()
main()
