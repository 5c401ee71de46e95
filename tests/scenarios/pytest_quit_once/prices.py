def total(items):
    return sum(item["amount"] for item in items)
