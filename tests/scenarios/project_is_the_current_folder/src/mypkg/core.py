def parse(text):
    values = []
    for word in text.split(","):
        values.append(int(word))
    return values
