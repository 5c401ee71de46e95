"""Real libraries' own test suites: does hot-restart stop only on real failures?

    python bench/library.py [NAME ...]

NAME is one of the libraries below (default: all of them).  Each one's
source distribution is fetched from PyPI and its tests are run with pytest
``-s`` in a pseudo-terminal, so that hot-restart can stop and we can see it:

- plain, without hot-restart;
- wrapped: every module of the library wrapped with ``wrap_modules``;
- ``pytest --hot-restart`` from the library's source tree, which
  instruments the library and its tests from birth.

A probe test that fails on purpose (in a wrapped function) is added to each
suite, so a run that cannot see a prompt cannot pass.  Every prompt is
answered with ``q`` (the exception propagates as it would without
hot-restart).  A library passes when the three runs give the same counts and
the wrapped runs stop exactly once per test that fails plain.  A run whose
counts differ is run once more (a library's timing-dependent test may fail
on a loaded machine), and said so.  Prints one line per run and the places
where any extra prompt stopped.  Needs pexpect
and pytest.
"""

import argparse
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
SUMMARY = re.compile(r"=* ?((?:\d+ (?:failed|passed|skipped|errors?|xfailed|xpassed|warnings?"
                     r"|subtests \w+)(?:, )?)+) in [\d.]+s")
PROMPT = r"\(Pdb\) "
# (PyPI name, import name, tests folder, extra pytest arguments)
LIBRARIES = {
    "more-itertools": ("more-itertools", "more_itertools", "tests", []),
    "toolz": ("toolz", "toolz", "toolz/tests", []),
    "boltons": ("boltons", "boltons", "tests", []),
    # its diagram tests need the optional railroad-diagrams package
    "pyparsing": ("pyparsing", "pyparsing", "tests", ["--ignore=tests/test_diagram.py"]),
}
PROBE = '''\
import hot_restart


@hot_restart.wrap
def test_hot_restart_probe():
    raise RuntimeError("hot-restart probe: this test fails on purpose")
'''


def fetch(package, into):
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--no-binary", ":all:", "-d", into, package], check=True)
    archive = glob.glob(os.path.join(into, "*.tar.gz"))[0]
    with tarfile.open(archive) as tar:
        tar.extractall(into)
    return Path(archive[:-len(".tar.gz")])


def run(folder, name, tests, extra, mode):
    """Run the suite in a terminal; returns (summary, prompts, seconds, wrapped count).

    ``prompts`` holds, for each prompt, the lines printed just before it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")]),
           "HOT_RESTART_LIBRARY": name, "HOT_RESTART_LIBRARY_MODE": mode, "TERM": "dumb",
           "PYTHONDONTWRITEBYTECODE": "1", "HOT_RESTART_DEBUGGER": "pdb"}
    env.pop("HOT_RESTART", None)
    # pytest-asyncio (a test dependency of ours) warns at start-up, which a
    # suite that turns warnings into errors does not survive
    args = ["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-p", "no:asyncio",
            tests, *extra]
    if mode != "plain":
        args += ["-p", "wrap_library_plugin"]
    if mode == "hot-restart":
        args.append("--hot-restart")
    t0 = time.perf_counter()
    child = pexpect.spawn(sys.executable, args, cwd=str(folder), env=env, encoding="utf-8",
                          timeout=1800, dimensions=(50, 200), maxread=1 << 16)
    prompts, output = [], []
    while child.expect([PROMPT, pexpect.EOF]) == 0:
        prompts.append("\n".join(child.before.replace("\r", "").splitlines()[-12:]))
        output.append(child.before)
        child.sendline("q")
    output.append(child.before)
    child.close()
    seconds = time.perf_counter() - t0
    text = "".join(output).replace("\r", "")
    match = SUMMARY.search(text)
    header = re.search(r"hot-restart: (\d+) functions of \S+ wrapped", text)
    summary = match.group(1) if match else "no summary:\n" + text[-3000:]
    return summary, prompts, seconds, int(header.group(1)) if header else 0


def failures(summary):
    found = re.search(r"(\d+) failed", summary)
    errors = re.search(r"(\d+) errors?", summary)
    return (int(found.group(1)) if found else 0) + (int(errors.group(1)) if errors else 0)


def check(key, keep):
    package, name, tests, extra = LIBRARIES[key]
    with tempfile.TemporaryDirectory() as tmp:
        folder = fetch(package, tmp)
        (folder / tests / "test_hot_restart_probe.py").write_text(PROBE)
        plain, _, plain_s, _ = run(folder, name, tests, extra, "plain")
        print(f"{folder.name}, Python {sys.version.split()[0]}")
        print(f"  plain:         {plain} ({plain_s:.1f} s)")
        ok = True
        for mode in ("wrapped", "hot-restart"):
            for _attempt in range(2):  # once more if a timing-dependent test flaked
                summary, prompts, seconds, wrapped = run(folder, name, tests, extra, mode)
                if summary == plain:
                    break
                print(f"  {mode + ':':14} {summary} ({seconds:.1f} s): not the counts of the "
                      f"plain run; running it again")
            expected = failures(plain)
            probe_seen = any("hot-restart probe" in p for p in prompts)
            same = summary == plain and len(prompts) == expected and probe_seen
            ok = ok and same
            print(f"  {mode + ':':14} {summary} ({seconds:.1f} s); {wrapped} functions "
                  f"wrapped; {len(prompts)} prompts for {expected} failing tests"
                  + ("" if same else "  <-- DIFFERENT" if probe_seen
                     else "  <-- the probe's prompt was not seen"))
            for prompt in prompts[:keep] if not same else ():
                print("    stopped after:\n      " + prompt.replace("\n", "\n      "))
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="of: " + ", ".join(LIBRARIES) + " (default: all)")
    parser.add_argument("--show", type=int, default=5, help="prompts to show when different")
    options = parser.parse_args()
    for name in options.names:
        if name not in LIBRARIES:
            parser.error(f"unknown library {name!r}")
    results = [check(key, options.show) for key in options.names or LIBRARIES]
    print("all the same, one prompt per failing test" if all(results) else "DIFFERENT")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
