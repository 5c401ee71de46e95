import asyncio


async def greet(name):
    return "hello " + name


async def main():
    print(await greet("Ada"))


asyncio.run(main())
