import hot_restart


def average(values):
    total = sum(values)
    count = len(values) - 3
    return total / count


def main():
    data = [1, 2, 3]
    print("average", average(data))
    print("done")


hot_restart.wrap_module()
main()
