import hot_restart


@hot_restart.wrap
def area(width, height):
    return width * heigth


print("area", area(3, 4))
