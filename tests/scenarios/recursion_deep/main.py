import sys

# a program that raised the limit for its deep recursion (3.10 runs Python
# calls on the C stack, which holds fewer)
sys.setrecursionlimit(30000 if sys.version_info >= (3, 11) else 12000)


def depth(n):
    step = n - 1
    return 1 + depth(step)


print("depth", depth(25))
