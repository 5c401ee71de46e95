import multiprocessing

import hot_restart


@hot_restart.wrap
def square(x):
    if x == 3:
        return x / 0
    return x * x


if __name__ == "__main__":
    # spawn: each worker imports this file again, and the decorator runs there too
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        print("results", pool.map(square, range(6), chunksize=1))
    print("done")
