def second(x):
    return "s" + x


def main():
    data = sorted([3, None, 1])
    print("data:", data)
    print("second:", second(1))


if __name__ == "__main__":
    main()
