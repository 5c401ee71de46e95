import hot_restart


@hot_restart.wrap
def parse(text):
    return int(text)


@hot_restart.wrap
def total(texts):
    return sum(parse(t) for t in texts)


print("total", total(["1", "2", "x3"]))
