import hot_restart


@hot_restart.wrap
def load(name):
    return {"a": 1}[name]


print("loaded", load("b"))
