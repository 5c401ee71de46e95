import os
import sys

# a src/ layout with no pyproject.toml, setup.py or .git: the package is
# found through sys.path, and the command runs in the top folder
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from mypkg.core import parse  # noqa: E402

print("parsed", parse("1,2,x"))
