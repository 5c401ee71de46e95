import hot_restart


def parse_price(text):
    return text.strip("$")          # bug: returns a string


def total(prices):
    values = [parse_price(p) for p in prices]
    return sum(values)


hot_restart.wrap_module()
print("total", total(["$3", "$4"]))
