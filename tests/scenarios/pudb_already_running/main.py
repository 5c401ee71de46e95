import pudb

import hot_restart

pudb.set_trace(paused=False)  # the program's own pudb, which does not stop here


@hot_restart.wrap
def load(name):
    return {"a": 1}[name]


print("loaded", load("b"))
