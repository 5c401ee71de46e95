import warnings


def deposit(account, amount):
    if amount <= 0:
        raise ValueError("a deposit must be positive")
    account["balance"] += amount
    return account["balance"]


def legacy_rate():
    warnings.warn("legacy_rate() is deprecated", DeprecationWarning, stacklevel=2)
    return 0.01


def statement(account):
    for line in (f"owner {account['owner']}", f"balance {account['balance']}"):
        yield line
