import multiprocessing
import sys


def square(x):
    if x == 3:
        return x / 0
    return x * x


if __name__ == "__main__":
    # the pool (and its workers, with the code as it is now) is made before the fix
    pool = multiprocessing.get_context(sys.argv[1]).Pool(2)
    print("results", pool.map(square, range(6), chunksize=1))
    pool.close()
    pool.join()
    print("done")
