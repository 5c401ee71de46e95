def total(items):
    return sum(item["amount"] for item in items)


# A library that hides its own frames records code objects like this
CODE_AT_IMPORT = total.__code__
