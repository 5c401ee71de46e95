import threading

import hot_restart


def work(n):
    both_here.wait()  # both threads are in work() before either can stop
    return 100 // (n - n)


def run(n, results):
    results[n] = work(n)


both_here = threading.Barrier(2)
hot_restart.wrap_module()
results = {}
threads = [threading.Thread(target=run, args=(n, results)) for n in (1, 2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("results", sorted(results.items()))
