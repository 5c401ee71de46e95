import sys


def parse(text):
    return int(text)


print("reading", sys.stdin.read() == "")
print(parse("x"))
