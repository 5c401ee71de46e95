import hot_restart


def scale(value, factor):
    return value / factor


def ratio(a, b, *, places):
    return round(a / b, places)


def main():
    print("scaled:", scale(10, 0))
    print("ratio:", ratio(2, 0, places=1))


hot_restart.wrap_module()
main()
