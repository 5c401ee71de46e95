import time


def greet():
    name = input("name? ")
    print(f"greeting {name}")
    while name == "Ada":  # hangs, until fixed
        time.sleep(0.05)
    return f"hello {name}"


print(greet())
