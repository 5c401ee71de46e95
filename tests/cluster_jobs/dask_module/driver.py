"""A Dask job on a LocalCluster with worker processes: the task calls a
function of another module of the project."""
import sys

import helpers
from distributed import Client, LocalCluster


def work(x):
    return helpers.ratio(x) + 1


if __name__ == "__main__":
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        print("result", client.submit(work, int(sys.argv[1])).result())
