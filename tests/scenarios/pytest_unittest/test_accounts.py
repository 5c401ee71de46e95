import unittest


class Account:
    def __init__(self, balance):
        self.balance = balance

    def after(self, amount):
        return self.balance + amount

    def overdrawn(self):
        return self.balance <= 0


class AccountCase(unittest.TestCase):
    def setUp(self):
        self.account = Account(10)

    def test_after(self):
        self.assertEqual(self.account.after(3), 7)


class TestWithSetupMethod:
    def setup_method(self, method):
        self.account = Account(0)

    def test_overdrawn(self):
        assert not self.account.overdrawn()
