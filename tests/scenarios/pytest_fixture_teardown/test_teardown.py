import pytest

events = []


@pytest.fixture
def connection():
    conn = {"id": len(events), "open": True}
    events.append(f"connect {conn['id']}")
    yield conn
    events.append(f"closing {conn['id']}")
    conn["open"] = False
    print("closed", conn["idd"])


def test_uses(connection):
    assert connection["open"]


def test_events():
    print("events:", events)
