"""A Ray job on a local cluster: the task's function is sent to the worker
by value, with its instrumented code."""
import sys

import ray


@ray.remote
def work(x):
    return 100 / (x - 3)


if __name__ == "__main__":
    ray.init(num_cpus=1, include_dashboard=False)
    print("result", ray.get(work.remote(int(sys.argv[1]))))
