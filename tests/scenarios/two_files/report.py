def describe(metres):
    return "%.1f m" % metres.rstrip()
