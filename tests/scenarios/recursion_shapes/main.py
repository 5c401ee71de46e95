import functools


def depth(n):
    half = n // 2
    return half + depth(n - 1)


class Box:
    def __init__(self, inner=None):
        self.inner = inner

    def __repr__(self):
        return f"Box({self!r})"


@functools.lru_cache(maxsize=None)
def steps(n):
    if n == 0:
        return 1
    return steps(n - 1) + steps(n - 2)


print("depth", depth(20))
print(repr(Box(Box())))
print("steps", steps(10))
