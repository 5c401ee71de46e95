import sys


def compute(n):
    return n / (n - 5)


print("result", compute(int(sys.argv[1])))
