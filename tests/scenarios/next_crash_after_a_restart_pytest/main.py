def second(x):
    return "s" + x


def build():
    data = sorted([3, None, 1])
    return data, second(1)
