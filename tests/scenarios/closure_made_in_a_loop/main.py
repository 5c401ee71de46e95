def run(items):
    total = 0
    weight = 2
    for i in items:
        def step(x):
            return x / 0

        total += step(i)
        weight += 1
    return total


print(run([1, 2, 3]))
