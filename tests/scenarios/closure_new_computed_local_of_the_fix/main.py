import hot_restart


@hot_restart.wrap
def outer(y):
    v = 0

    def inner():
        return y / v

    return inner()


print("result:", outer(14))
