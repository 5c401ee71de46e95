import concurrent.futures
import threading
import time


def work(x):
    time.sleep(0.3 if x == 2 else 1.2 if x == 3 else 0.1)
    if x in (2, 3):  # both workers fail, the second while the first is stopped
        raise ValueError(f"bad input {x}")
    return x * 10


def ticks(done):
    while not done.wait(0.2):
        print("tick", flush=True)


if __name__ == "__main__":
    done = threading.Event()
    threading.Thread(target=ticks, args=(done,), daemon=True).start()
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        results = list(pool.map(work, range(6)))
    done.set()
    print("results", results)
