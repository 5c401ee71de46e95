import hot_restart

RATE = 0
REGISTRY = []
if not hot_restart.is_restarting_module():
    print("prices: expensive set-up")


def price(amount):
    return amount / RATE


REGISTRY.append(price)
