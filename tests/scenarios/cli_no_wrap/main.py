import helpers
import hot_restart


def compute():
    return helpers.divide(8, 0)


print("helpers wrapped", hot_restart._PROPAGATE in helpers.divide.__code__.co_names)
print("result", compute())
