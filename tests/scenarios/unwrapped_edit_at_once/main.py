import hot_restart

import helper


@hot_restart.wrap
def main():
    return helper.ratio(3, 0)


print("ratio", main())
