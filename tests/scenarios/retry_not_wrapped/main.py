import hot_restart


@hot_restart.wrap
def fail():
    raise RuntimeError("broken")


def caller():
    return fail()


caller()
