def area(width, height):
    return width * heigth


def perimeter(width, height):
    return 2 * (width + height)
