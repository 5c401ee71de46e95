import hot_restart


@hot_restart.wrap_class
class Account:
    rate = 0

    def __init__(self, balance):
        self._balance = balance

    @staticmethod
    def fee(amount):
        return amount / 0

    @classmethod
    def interest(cls, amount):
        return amount / cls.rate

    @property
    def balance(self):
        return self._balance / 0


acct = Account(100)
print("fee", Account.fee(50))
print("interest", Account.interest(50))
print("balance", acct.balance)
