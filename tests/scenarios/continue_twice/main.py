import hot_restart

calls = []


@hot_restart.wrap
def divide(a, b):
    calls.append((a, b))
    return a / b


print("result", divide(6, 0 * 1))
print("calls", len(calls), "args", set(calls))
