import asyncio


async def ratio(x):
    return 10 / x


async def main():
    print("ratio", await ratio(0))


asyncio.run(main())
