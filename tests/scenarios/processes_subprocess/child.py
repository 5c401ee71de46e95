import sys

import hot_restart


@hot_restart.wrap
def compute(n):
    return n / (n - 5)


print("result", compute(int(sys.argv[1])))
