import os


def compute(x):
    from_a_copy = os.path.dirname(__file__) == os.getcwd() and "working_dir_files" in __file__
    return 100 / (x - 3), f"from a copy: {from_a_copy}"
