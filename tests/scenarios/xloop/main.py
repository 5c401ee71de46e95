def parse(text):
    return int(text)


total = 0
for text in ["1", "2", "three", "4"]:
    total += parse(text)
    print("total", total)
