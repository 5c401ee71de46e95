import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path[1:1] = [os.path.join(here, "..", "src"),  # as an editable install does
                 os.path.join(here, "..", "..", "external")]

import calc.ops  # noqa: E402

print("mean", calc.ops.mean([1, 2, 3]))
