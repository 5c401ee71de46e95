import hot_restart

opened = []


class Resource:
    def __enter__(self):
        opened.append(1)
        print("enter", len(opened))
        return self

    def __exit__(self, *exc):
        print("exit", len(opened))


def parse(text):
    return int(text)


def load(texts):
    numbers = []
    with Resource():
        for t in texts:
            numbers.append(parse(t))
    return numbers


hot_restart.wrap_module()
print("loaded", load(["1", "2", "three"]))
