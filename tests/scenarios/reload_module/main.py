import hot_restart
import prices
from prices import price

hot_restart.wrap_module(prices)
print("price", price(10))
print("registered", len(prices.REGISTRY))
