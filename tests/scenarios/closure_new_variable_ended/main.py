import functools

import hot_restart


def make_scaler(factor, offset):
    label = "scaled"
    unit = "cm"
    base = factor * 2
    suffix = f"x{factor}"

    def describe():
        return f"{label} {suffix}"

    @functools.cache
    def scale(x):
        return label, x * factor / offset

    return scale, describe


scale, describe = make_scaler(4, 0)
hot_restart.wrap(scale)
print(scale(5))
print(scale(5))
print("cached", scale.cache_info().hits)
