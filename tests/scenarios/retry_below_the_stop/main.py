import hot_restart


@hot_restart.wrap
def fetch(attempt):
    raise ConnectionError(f"attempt {attempt}")


@hot_restart.wrap
def fetch_with_retries():
    for attempt in range(2):
        try:
            return fetch(attempt)
        except ConnectionError:
            if attempt == 1:
                raise


print(fetch_with_retries())
