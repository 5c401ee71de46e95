import concurrent.futures

calls = []


def work(x):
    calls.append(x)
    if x == 2:
        raise ValueError(f"bad {x}")
    return x * 10


def main():
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(work, i) for i in range(4)]
        return [f.result() for f in futures]


print("results", main())
print("calls", sorted(calls))
