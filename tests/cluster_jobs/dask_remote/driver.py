"""A Dask job on a cluster on another host: the task calls a function of
another module of the project, which the worker imports from its own copy."""
import sys

import helpers
from distributed import Client


def work(x):
    return helpers.ratio(x) + 1


if __name__ == "__main__":
    with Client(sys.argv[1]) as client:
        print("result", client.submit(work, int(sys.argv[2])).result())
