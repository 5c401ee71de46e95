"""A small program with a bug, to try hot-restart on.

Run it with ``python examples/demo.py``.  It crashes in ``mean_speed``;
the debugger opens there.  Fix the bug in your editor (the hint is in the
comment), save, and type ``c``: the fixed function runs with the same
arguments and the program finishes, without redoing the slow part.
"""

import time

import hot_restart


def load_trips():
    """The slow part that you do not want to run twice."""
    print("loading trips (slow)...")
    time.sleep(1)
    return [("home", 12.0, 0.5), ("work", 30.0, 0.75), ("gym", 5.0, 0.0)]


def mean_speed(trips):
    speeds = {}
    for name, km, hours in trips:
        # Bug: the gym trip took no time.  Skip trips with hours == 0.
        speeds[name] = km / hours
    return sum(speeds.values()) / len(speeds)


def main():
    trips = load_trips()
    print(f"mean speed: {mean_speed(trips):.1f} km/h")


hot_restart.wrap_module()

if __name__ == "__main__":
    main()
