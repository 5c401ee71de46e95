import hot_restart


@hot_restart.wrap
def fetch(key):
    raise LookupError(key)


print("fetched", fetch("k"))
