# Stands in for a pudb that is not installed.
raise ModuleNotFoundError("No module named 'pudb'", name="pudb")
