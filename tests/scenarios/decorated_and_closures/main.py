import functools

import hot_restart


def log_calls(fn):
    @functools.wraps(fn)
    def inner(*args):
        print("calling", fn.__name__)
        return fn(*args)
    return inner


@log_calls
def work(x):
    return 10 / x


def make_scaler(k):
    def scale(v):
        return v * k + missing
    return scale


triple = make_scaler(3)

hot_restart.wrap_module()

print(work(0))
print(triple(2))
