import sys

from helper import total

print("total", total(sys.argv[1:]))
