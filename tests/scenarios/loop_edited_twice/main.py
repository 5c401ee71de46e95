def train(lr):
    print("training with", lr)
    return lr * 10


result = train(0.5)
print("the program goes on with", result)
