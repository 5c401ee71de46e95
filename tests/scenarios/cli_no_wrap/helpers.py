def divide(x, by):
    return x / by
