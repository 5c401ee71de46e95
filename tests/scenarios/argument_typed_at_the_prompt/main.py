import hot_restart


@hot_restart.wrap
def train(lr=None, steps=3):
    losses = [round(lr * s, 2) for s in range(steps)]
    return losses


@hot_restart.wrap
def normalise(values, total):
    values = [v / total for v in values]  # the body rebinds a parameter
    return values


print("losses", train())
print("normalised", normalise([1, 3], 0))
