import hot_restart


class Swallow:
    """A context manager hot-restart does not know, so it counts as not handling."""

    def __init__(self, kind):
        self.kind = kind

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        return kind is not None and issubclass(kind, self.kind)


def attempt(n):
    raise ValueError(f"attempt {n} failed")


@hot_restart.wrap(propagated_exceptions=(LookupError,))
def settings():
    return {}["debug"]


hot_restart.PROPAGATED_EXCEPTIONS = (TimeoutError,)


def slow():
    raise TimeoutError("slow")


hot_restart.wrap_module()
for n in range(3):
    with Swallow(ValueError):
        attempt(n)
    print("after attempt", n)
with Swallow(KeyError):
    settings()  # wrap(propagated_exceptions=...): never stops
print("settings propagated")
with Swallow(TimeoutError):
    slow()  # PROPAGATED_EXCEPTIONS: never stops
print("timeout propagated")
