"""A multiprocessing pool with a bug, to try hot-restart on.

Run it with ``python -m hot_restart examples/pool.py``.  One task fails in
a worker process; its session opens in this terminal.  Fix the bug, type
``c``: the worker runs the task again and the pool's result is complete.
"""

import multiprocessing


def score(word):
    return 100 // (len(word) - 4)  # Bug: a word of 4 letters divides by zero.


if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print("scores:", pool.map(score, ["python", "debugger", "edit", "continue"]))
