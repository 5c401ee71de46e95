import hot_restart


class Cart:
    def __init__(self, items):
        self.items = items

    def total(self):
        return sum(self.items)

    def summary(self):
        return f"{len(self.items)} items, {self.total_with_tax():.2f}"


cart = Cart([10, 20])
before = id(cart)
hot_restart.wrap_module()
print(cart.summary())
print("same cart", id(cart) == before, isinstance(cart, Cart), type(cart) is Cart)
print("new method wrapped", hot_restart._PROPAGATE in Cart.total_with_tax.__code__.co_names)
