"""A Dask job on a LocalCluster with worker processes."""
import sys

from distributed import Client, LocalCluster


def work(x):
    return 100 / (x - 3)


if __name__ == "__main__":
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        print("result", client.submit(work, int(sys.argv[1])).result())
