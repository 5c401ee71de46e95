import subprocess
import sys

print("parent starts", flush=True)
done = subprocess.run([sys.executable, "child.py", "5"], capture_output=True, text=True)
print("the child printed", done.stdout.strip(), "and ended with", done.returncode)
