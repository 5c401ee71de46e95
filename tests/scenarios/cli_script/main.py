import json
import os
import sys

import pexpect

import helpers
import hot_restart


def instrumented(fn):
    return hot_restart._PROPAGATE in fn.__code__.co_names


print("argv", sys.argv, __name__, __spec__, os.path.basename(__file__))
print("path0 is the script folder", sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
print("wrapped: project", instrumented(helpers.half), "stdlib", instrumented(json.dumps),
      "site-packages", instrumented(pexpect.spawn.__init__))
print("half", helpers.half(int(sys.argv[1])))
