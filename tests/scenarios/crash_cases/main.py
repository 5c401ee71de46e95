"""Handlers that do not match: each of these is a crash, and stops."""
import contextlib

import hot_restart


def lookup(table, key):
    return table[key]


def wrong_handler():
    try:
        return lookup({}, "a")
    except ValueError:
        return "not reached"


def wrong_suppress():
    with contextlib.suppress(ValueError):
        return lookup({}, "b")


def reraised():
    try:
        return lookup({}, "c")
    except KeyError:
        raise


hot_restart.wrap_module()
print(wrong_handler())
print(wrong_suppress())
print(reraised())
