import hot_restart


class Tracked(Exception):
    def __del__(self):
        print("failed exception released")


@hot_restart.wrap
def compute(x):
    raise Tracked("first failure")


print("result", compute(2))
