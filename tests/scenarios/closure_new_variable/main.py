def process(rows):
    scale = 10
    unit = "cm"

    def convert(r):
        return f"{r * factor} {unit}"

    out = []
    for r in rows:
        out.append(convert(r))
        scale += 1
    return out


def tally(words):
    counts = {}
    seen = 0

    def add(word):
        counts[word] = counts.get(word, 0) + oops

    for w in words:
        add(w)
    return counts, seen


print(process([1, 2, 3]))
print(tally(["a", "b", "a"]))
