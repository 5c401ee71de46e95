import sys
import unittest

import bank
import pytest


def test_deposit(account):
    print("depositing")
    assert bank.deposit(account, 5) == 15


@pytest.mark.parametrize("amount", [1, 2, 3])
def test_deposits(account, amount):
    assert bank.deposit(account, amount) == 10 + amount


def test_negative_deposit(account):
    with pytest.raises(ValueError, match="positive"):
        bank.deposit(account, -1)


def test_statement(account):
    assert list(bank.statement(account)) == ["owner ada", "balance 10"]


def test_legacy_rate():
    assert bank.legacy_rate() == 0.01


@pytest.mark.skip(reason="not today")
def test_skipped():
    raise AssertionError("never runs")


@pytest.mark.xfail(reason="known bug", strict=True)
def test_known_bug():
    assert bank.deposit({"balance": 0}, 1) == 2


def test_skip_inside():
    if sys.platform:
        pytest.skip("decided at run time")


@pytest.fixture
def ledger():
    entries = []
    yield entries
    print("ledger closed with", len(entries), "entries")


def test_ledger(ledger):
    ledger.append(1)
    assert ledger == [1]


class TestAccount:
    def setup_method(self, method):
        self.account = {"owner": "bob", "balance": 0}

    def test_first_deposit(self):
        assert bank.deposit(self.account, 3) == 3


class AccountCase(unittest.TestCase):
    def setUp(self):
        self.account = {"owner": "eve", "balance": 1}

    def test_deposit(self):
        self.assertEqual(bank.deposit(self.account, 1), 2)
