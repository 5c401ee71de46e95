"""A Ray job on a simulated cluster of two nodes (ray.cluster_utils.Cluster):
the job's folder is shipped to them (working_dir), so the worker imports its
own copy of tasks.py."""
import sys

import ray
from ray.cluster_utils import Cluster


@ray.remote
def run(x):
    import tasks  # from the worker's copy of the job's folder

    return tasks.compute(x)


if __name__ == "__main__":
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    cluster.add_node(num_cpus=1)  # the task can only run on this second node
    ray.init(address=cluster.address, runtime_env={"working_dir": "job"})
    try:
        print("result", ray.get(run.remote(int(sys.argv[1]))))
    finally:
        ray.shutdown()
        cluster.shutdown()
