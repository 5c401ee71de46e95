import helpers  # noqa: F401  (loaded with the conftest, before the tests)
