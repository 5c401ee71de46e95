import threading

import hot_restart


def work(n):
    return 100 // (n - n)


def run(n, results):
    results[n] = work(n)


hot_restart.wrap_module()
results = {}
threads = [threading.Thread(target=run, args=(n, results)) for n in (1, 2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("results", sorted(results.items()))
