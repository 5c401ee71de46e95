def scale(value, factor=0):
    return value / factor


def main():
    print("scaled:", scale(10))


main()
