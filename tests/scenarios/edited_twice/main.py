import hot_restart


def label(n):
    return "item " + n


def shout(text):
    return text.upper() + 1


hot_restart.wrap_module()
print(shout(label(7)))
