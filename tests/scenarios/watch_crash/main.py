import time


def ratio(a, b):
    return a / b


for b in [2, 1, 0, 4]:
    print("ratio", ratio(8, b), flush=True)
    time.sleep(0.2)
print("done")
