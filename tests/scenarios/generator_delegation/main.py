import hot_restart

computed = []


def inner(n):
    for i in range(n):
        computed.append(i)
        if i == 2:
            raise ValueError("inner not ready for 2")
        yield i


def outer(n):
    yield "start"
    yield from inner(n)
    yield "middle"
    total = 1 / 0
    yield total


def values(n):
    for i in range(n):
        yield i if i != 3 else int("three")


hot_restart.wrap_module()
print("outer", list(outer(4)))
print("computed", computed)
print("values", list(values(5)))
