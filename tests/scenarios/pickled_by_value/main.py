"""A function sent to another process by value (cloudpickle, as Ray, Dask
and joblib do), where hot-restart was never imported: it behaves there as
plain Python, for the exceptions it handles and the one it raises."""
import subprocess
import sys

import cloudpickle


def task(values):
    try:
        int("not a number")
    except ValueError:
        pass  # handled inside the task

    def scale(x):
        return x * 2

    def numbers():
        yield from map(scale, values)

    total = sum(numbers())
    if total > 10:
        raise OverflowError(f"total {total} is too large")
    return total


if "--wrap" in sys.argv:  # as a decorator would: hot_restart.wrap(task)
    import hot_restart

    hot_restart.wrap(task)

WORKER = """
import pickle, sys
task = pickle.loads(sys.stdin.buffer.read())
print("small:", task([1, 2]))
try:
    task([5, 6])
except OverflowError as exc:
    print("large:", type(exc).__name__, exc)
"""

if __name__ == "__main__":
    out = subprocess.run([sys.executable, "-c", WORKER], input=cloudpickle.dumps(task),
                         capture_output=True)
    print(out.stdout.decode(), out.stderr.decode()[-300:], sep="")
