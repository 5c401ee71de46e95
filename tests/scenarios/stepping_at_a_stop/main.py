import hot_restart


@hot_restart.wrap
def mean(values):
    count = len(values)
    total = sum(values)
    return total / (count - count)


print("mean", mean([2, 4, 6]))
