import threading
import time

import hot_restart


def work(n):
    both_here.wait()  # both threads are in work() before either can stop
    return 100 // (n - n)


def run(n, results):
    try:
        results[n] = work(n)
    finally:  # a slow clean-up: the other thread's session opens meanwhile
        time.sleep(0.5)
        print(f"thread {n} cleaned up")


both_here = threading.Barrier(2)
hot_restart.wrap_module()
results = {}
threads = [threading.Thread(target=run, args=(n, results)) for n in (1, 2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("results", sorted(results.items()))
