import os


def compute(x):
    print("tasks.py runs from a copy:", os.path.dirname(__file__) == os.getcwd()
          and "working_dir_files" in __file__, flush=True)
    return 100 / (x - 3)
