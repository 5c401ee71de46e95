import time


def tick():
    print("tick", 1, flush=True)
    return 1


seen = 0
deadline = time.monotonic() + 20
while seen < 3 and time.monotonic() < deadline:
    if tick() == 2:
        seen += 1
    time.sleep(0.1)
print("done" if seen == 3 else "the edit never took effect")
