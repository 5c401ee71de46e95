import hot_restart


@hot_restart.wrap
def work():
    raise RuntimeError("broken")


try:
    work()
finally:
    print("cleanup ran")
