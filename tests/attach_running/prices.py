def total(prices):
    return sum(prices) * tax_rate
