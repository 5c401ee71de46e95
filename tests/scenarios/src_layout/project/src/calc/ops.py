import helper


def mean(values):
    return helper.total(values) / len(values) + missing
