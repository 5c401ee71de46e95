def summary(values):
    return f"mean {sum(values) / (len(values) - 3)}"
