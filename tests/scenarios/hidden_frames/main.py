import hot_restart


@hot_restart.wrap
def work(n):
    return 10 / n


print(work(0))
