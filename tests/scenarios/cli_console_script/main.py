import sys


def greet(name):
    return "hello " + name + 1


print(greet(sys.argv[1]))
