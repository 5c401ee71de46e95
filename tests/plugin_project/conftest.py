import pytest


@pytest.fixture(scope="session")
def session_log():
    log = ["session"]
    yield log
    print("session teardown:", log)


@pytest.fixture
def account(session_log):
    session_log.append("account")
    return {"owner": "ada", "balance": 10}
