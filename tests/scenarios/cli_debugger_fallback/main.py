def fail():
    raise RuntimeError("broken")


fail()
