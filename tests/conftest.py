import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# tests/scenarios holds programs (and test files) that the scenarios run;
# they are not tests of this suite.
collect_ignore_glob = ["scenarios/*"]
