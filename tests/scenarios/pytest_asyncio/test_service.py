import asyncio

import pytest


async def fetch(key):
    await asyncio.sleep(0)
    return {"answer": 42}[key + "s"]


@pytest.mark.asyncio
async def test_fetch():
    assert await fetch("answer") == 42


@pytest.mark.anyio
async def test_fetch_anyio():
    assert await fetch("answer") == 43


@pytest.fixture
def anyio_backend():
    return "asyncio"
