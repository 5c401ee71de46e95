HANDLERS = dict(csv=len)


def handle(kind, text):
    return HANDLERS[kind](text)


if __name__ == "__main__":
    print("main block ran")
    print("handled", handle("json", "[1, 2]"))
