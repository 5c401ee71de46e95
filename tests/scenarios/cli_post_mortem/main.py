def connect(attempt):
    raise ConnectionError(f"attempt {attempt}")


for attempt in range(3):
    try:
        connect(attempt)
        break
    except ConnectionError:
        if attempt == 2:
            raise
