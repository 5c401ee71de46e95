def ratio(x):
    return 100 / (x - 3)
