import threading
import time

# an edit of two functions in one save: no thread crashes, and every thread
# goes on with the new code


def low():
    return 1


def high():
    return 1


def work(number, seen, stop):
    while not stop.is_set():
        seen[number] = (low(), high())
        time.sleep(0.001)


seen, stop = {}, threading.Event()
threads = [threading.Thread(target=work, args=(n, seen, stop)) for n in range(16)]
for t in threads:
    t.start()
print("threads running", flush=True)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and set(seen.values()) != {(2, 3)}:
    time.sleep(0.05)
stop.set()
for t in threads:
    t.join()
print("every thread sees", sorted(set(seen.values())))
