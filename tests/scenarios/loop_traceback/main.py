def ratio(x):
    return 10 / x


print("ratio", ratio(0))
