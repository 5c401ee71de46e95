import functools
import hot_restart


def outer_fn(x):
    y = x * 10

    @functools.cache
    @hot_restart.wrap
    def inner_fn(tag):
        return tag + 1

    print("first:", inner_fn("one"))
    print("second:", inner_fn("again"))
    return y


print("result:", outer_fn(2))
