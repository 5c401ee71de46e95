import hot_restart
import geometry


@hot_restart.wrap
def density(mass, w, h):
    return mass / geometry.area(w, h)


hot_restart.wrap_module(geometry)
print("density", density(12, 2, 3))
