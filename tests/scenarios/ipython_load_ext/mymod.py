def ratio(values):
    return values[0] / values[1]


def run(values):
    return "ratio " + str(ratio(values))
