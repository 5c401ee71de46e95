import hot_restart


def depth(n):
    return 1 + depth(n - 1)


hot_restart.wrap_module()
print("depth", depth(30))
