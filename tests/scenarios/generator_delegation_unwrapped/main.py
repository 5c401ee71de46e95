import hot_restart


def parsed(rows):
    yield "header"
    yield from (int(r) for r in rows)
    yield "end"


hot_restart.wrap_module()
print("parsed", list(parsed(["1", "2", "x", "4"])))
