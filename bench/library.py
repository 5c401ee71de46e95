"""A real library's own test suite, run plain and with all of its modules wrapped.

    python bench/library.py [PACKAGE_ON_PYPI IMPORT_NAME]

By default more-itertools.  Its source distribution is fetched from PyPI,
its tests are run with pytest in a terminal (so hot-restart would open the
debugger if it decided to stop), once plain and once with every module of
the library wrapped.  The pass and fail counts must be the same, and the
wrapped run must never stop at a prompt.  Needs pexpect and pytest.
"""

import glob
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"=* ?(\d+ passed.*?) in [\d.]+s")


def fetch(package, into):
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--no-binary", ":all:", "-d", into, package], check=True)
    archive = glob.glob(os.path.join(into, "*.tar.gz"))[0]
    with tarfile.open(archive) as tar:
        tar.extractall(into)
    return Path(archive[:-len(".tar.gz")])


def run(folder, name, wrapped):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench"),
                                                        str(folder)]),
           "HOT_RESTART_LIBRARY": name, "TERM": "dumb", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("HOT_RESTART", None)
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    if wrapped:
        args += ["-p", "wrap_library_plugin"]
    t0 = time.perf_counter()
    child = pexpect.spawn(sys.executable, args, cwd=str(folder), env=env, encoding="utf-8",
                          timeout=900, dimensions=(50, 200))
    stopped = child.expect([r"\(Pdb\) ", pexpect.EOF]) == 0
    output = child.before
    if stopped:
        child.close(force=True)
    seconds = time.perf_counter() - t0
    match = SUMMARY.search(output.replace("\r", ""))
    header = re.search(r"hot-restart: \d+ functions of \S+ wrapped", output)
    result = match.group(1) if match else output[-2000:]
    return stopped, result, seconds, header.group(0) if header else None


def main():
    package, name = (sys.argv[1:3] if len(sys.argv) > 2 else ("more-itertools",
                                                              "more_itertools"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = fetch(package, tmp)
        _, plain, plain_s, _ = run(folder, name, wrapped=False)
        stopped, wrapped, wrapped_s, header = run(folder, name, wrapped=True)
    print(f"{folder.name}, Python {sys.version.split()[0]}; {header}")
    print(f"plain:   {plain} ({plain_s:.1f} s)")
    print(f"wrapped: {wrapped} ({wrapped_s:.1f} s)")
    same = plain == wrapped and not stopped and header is not None
    print("same counts, no stop" if same else
          "DIFFERENT" + (": stopped at a prompt" if stopped else ""))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
