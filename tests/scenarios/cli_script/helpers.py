def half(x):
    return x / 0
