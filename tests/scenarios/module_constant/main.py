import hot_restart

LIMIT = 0


def check(value):
    if value > LIMIT:
        raise ValueError(f"{value} is over the limit {LIMIT}")
    return value


hot_restart.wrap_module()
print("checked", check(5))
