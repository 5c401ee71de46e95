def area(width, height):
    """The area of a rectangle.

    >>> area(2, 3)
    5
    """
    return width * height
