import os
import subprocess
import sys

# a program of the project starts Python programs of its own, none of which
# imports hot_restart: they run with it all the same
how = sys.argv[1] if len(sys.argv) > 1 else "run"
print("parent starts", how, flush=True)
if how == "run":
    done = subprocess.run([sys.executable, "child.py", "5"])
elif how == "shell":
    done = subprocess.run(f"'{sys.executable}' child.py 5", shell=True)
elif how == "module":
    done = subprocess.run([sys.executable, "-m", "child", "5"])
elif how == "code":
    done = subprocess.run([sys.executable, "-c", "import tool; print('result', tool.compute(5))"])
elif how == "exec":
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "child.py", "5"])
print("the child ended with", done.returncode)
