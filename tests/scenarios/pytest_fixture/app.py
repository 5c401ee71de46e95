def total(prices):
    return sum(p["amount"] for p in prices)
