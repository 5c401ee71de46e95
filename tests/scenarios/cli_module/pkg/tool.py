import sys


def shout(word):
    return word.upper() + 1


print("argv0", sys.argv[0].endswith("tool.py"), __name__, __spec__.name)
print(shout(sys.argv[1]))
