import hot_restart

namespace = {}
exec("def made_up(x):\n    return x + 1\n", namespace)
made_up = namespace["made_up"]
assert hot_restart.wrap(made_up) is made_up
print("still works", made_up(1))
print("builtin", hot_restart.wrap(len) is len)
