import pytest

events = []


@pytest.fixture
def config():
    events.append("config built")
    return {"name": "app"}["nam"]


@pytest.fixture
def connection():
    events.append("connect")
    conn = {"open": True, "rows": []}
    conn["rows"].append(int("one"))
    yield conn
    events.append("disconnect")
    conn["open"] = False


def test_config(config):
    assert config == "app"


def test_connection(connection):
    assert connection["rows"] == [1]


def test_events():
    print("events:", events)
    assert events == ["config built", "config built", "connect", "connect", "disconnect"]
