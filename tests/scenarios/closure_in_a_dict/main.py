import hot_restart


def make_handler(name):
    def handle(value):
        return f"{name}: {value / 0}"
    return handle


HANDLERS = {"a": make_handler("a")}  # made before the wrap, kept in a dict


def dispatch(key, value):
    return HANDLERS[key](value)


hot_restart.wrap_module()
print(dispatch("a", 6))
