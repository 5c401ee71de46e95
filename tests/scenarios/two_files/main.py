import hot_restart
import report
import units

hot_restart.wrap_modules("units")
hot_restart.wrap_modules("report")


@hot_restart.wrap
def main():
    return report.describe(units.to_metres(10))


print(main())
