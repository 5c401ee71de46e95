def ratio(a, b):
    return a / b


print("ratio", ratio(3, 0))
