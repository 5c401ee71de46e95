"""A Ray actor whose method fails: its state stays, and the call again adds to it."""
import ray


@ray.remote
class Counter:
    def __init__(self):
        self.total = 0

    def add(self, x):
        self.total += 100 / (x - 3)
        return self.total


if __name__ == "__main__":
    ray.init(num_cpus=1, include_dashboard=False)
    c = Counter.remote()
    print("first", ray.get(c.add.remote(4)))
    print("second", ray.get(c.add.remote(3)))
