import hot_restart
from helpers import scale

hot_restart.wrap_modules("helpers")


@hot_restart.wrap
def ratio(x):
    return 100 / scale(x)


print("ratio", ratio(5))
print("scale through the from-import", scale(5))
