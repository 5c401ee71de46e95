import asyncio

import hot_restart


async def fetch(n):
    await asyncio.sleep(0.01)
    return 10 / (n - n)


async def main():
    results = await asyncio.gather(fetch(1), fetch(2))
    print("results", results)


hot_restart.wrap_module()
asyncio.run(main())
