import hot_restart


def second(x):
    return "s" + x


@hot_restart.wrap
def check(values):
    return sorted(values)


@hot_restart.wrap
def main():
    data = check([3, None, 1])
    print("data:", data)
    print("second:", hot_restart.wrap(second)(1))


main()
