import asyncio

import hot_restart


async def ticks(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield 10 // (i - 2)


async def main():
    print("ticks", [t async for t in ticks(4)])


hot_restart.wrap_module()
asyncio.run(main())
