import hot_restart
import helpers

hot_restart.wrap_module(helpers)


@hot_restart.wrap
def run():
    return 12 / helpers.scale(2)


print("result", run())
