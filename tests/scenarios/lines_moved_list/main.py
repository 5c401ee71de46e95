def scale(value, factor):
    return value / factor


def main():
    total = scale(10, 0)
    print("total", total)
    print("ratio", total / 0)


main()
