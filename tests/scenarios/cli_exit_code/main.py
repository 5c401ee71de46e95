import sys


def finish(code):
    print("exiting with", code)
    sys.exit(code)


finish(3)
