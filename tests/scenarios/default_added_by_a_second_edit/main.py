def scale(value, factor):
    return value / factor


def main():
    print("scaled:", scale(10, 0))


main()
