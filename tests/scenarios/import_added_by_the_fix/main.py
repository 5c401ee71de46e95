def root(x):
    return math.sqrt(x)


def main():
    print("root", root(16))


main()
