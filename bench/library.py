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
on a loaded machine), and said so.  Each kind of run is timed ``--repeat``
times (default 2) and the best time is compared with plain's: the goal is at
most 1.25x.  The runs write bytecode caches, as a developer's do (Python's
.pyc files, and hot-restart's instrumented code beside them): the first
run of each kind fills them.  Prints one line per run, with its ratio, and
the places where any extra prompt stopped.  Exits 1 when the counts or
prompts differ.

Needs pexpect and pytest, and the libraries' test dependencies:
``pip install -r bench/requirements.txt``.
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
SUMMARY = re.compile(r"=* ?((?:\d+ (?:failed|passed|skipped|deselected|errors?|xfailed|xpassed"
                     r"|warnings?|subtests \w+)(?:, )?)+) in [\d.]+s")
PROMPT = r"\(Pdb\) "
# name: (PyPI requirement, import name, tests folder, extra pytest arguments,
# the folder of the source distribution that holds the package)
LIBRARIES = {
    "more-itertools": ("more-itertools==11.2.1", "more_itertools", "tests", [], "."),
    "toolz": ("toolz==1.2.0", "toolz", "toolz/tests", [], "."),
    "boltons": ("boltons==26.2.0", "boltons", "tests", [], "."),
    # its diagram tests need the optional railroad-diagrams package
    "pyparsing": ("pyparsing==3.3.3", "pyparsing", "tests",
                  ["--ignore=tests/test_diagram.py"], "."),
    # a command-line framework: decorators that refuse what they decorate,
    # a test runner that records the command's exception, lazy files
    "click": ("click==8.5.1", "click", "tests", [], "src"),
    # template engines: code compiled at run time from generated source
    # under the template's name, tracebacks rewritten to the template's
    # lines, async rendering through async generators (its async tests
    # need trio)
    "jinja2": ("jinja2==3.1.6", "jinja2", "tests", [], "src"),
    "mako": ("mako==1.4.3", "mako", "test", [], "."),
    # a parser generator (its tests of optional parts skip without them);
    # it collects its tests through tests/__main__.py, and its -q would
    # make pytest's -qq, which prints no counts
    "lark": ("lark==1.3.1", "lark", "tests",
             ["-o", "python_files=__main__.py test_hot_restart_probe.py", "-o", "addopts="], "."),
}
#: the goal for each suite's time, wrapped and under the plugin, against plain
TIME_GOAL = 1.25
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


def run(folder, name, tests, extra, root, mode):
    """Run the suite in a terminal; returns (summary, prompts, seconds, wrapped count).

    ``prompts`` holds, for each prompt, the lines printed just before it."""
    path = [str((folder / root).resolve()), str(ROOT), str(ROOT / "bench")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path),
           "HOT_RESTART_LIBRARY": name, "HOT_RESTART_LIBRARY_MODE": mode, "TERM": "dumb",
           "HOT_RESTART_DEBUGGER": "pdb"}
    env.pop("HOT_RESTART", None)
    # bytecode caches on, as a developer has them: Python's .pyc for every
    # kind of run, and hot-restart's instrumented code beside them
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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
    # warnings are left out: the wrapped runs import every module of the
    # library before pytest collects, so warnings at import go uncounted
    summary = (re.sub(r"\d+ warnings?, ", "", match.group(1) + ", ").rstrip(", ") if match
               else "no summary:\n" + text[-3000:])
    return summary, prompts, seconds, int(header.group(1)) if header else 0


def failures(summary):
    found = re.search(r"(\d+) failed", summary)
    errors = re.search(r"(\d+) errors?", summary)
    return (int(found.group(1)) if found else 0) + (int(errors.group(1)) if errors else 0)


def check(key, keep, repeat):
    """Run one library's suite plain, wrapped and under the plugin; print
    each run's counts and time.  Returns (same counts, within the time goal)."""
    package, name, tests, extra, root = LIBRARIES[key]
    with tempfile.TemporaryDirectory() as tmp:
        folder = fetch(package, tmp)
        (folder / tests / "test_hot_restart_probe.py").write_text(PROBE)
        # the best of ``repeat`` runs: a loaded machine makes times longer, never shorter
        plain, _, plain_s, _ = run(folder, name, tests, extra, root, "plain")
        for _ in range(repeat - 1):
            plain_s = min(plain_s, run(folder, name, tests, extra, root, "plain")[2])
        print(f"{folder.name}, Python {sys.version.split()[0]}")
        print(f"  plain:         {plain} ({plain_s:.1f} s)")
        ok = fast = True
        for mode in ("wrapped", "hot-restart"):
            seconds = []
            for _attempt in range(repeat + 1):  # once more if a timing-dependent test flaked
                summary, prompts, took, wrapped = run(folder, name, tests, extra, root, mode)
                if summary != plain:
                    print(f"  {mode + ':':14} {summary} ({took:.1f} s): not the counts of the "
                          f"plain run; running it again")
                    continue
                seconds.append(took)
                if len(seconds) == repeat:
                    break
            expected = failures(plain)
            probe_seen = any("hot-restart probe" in p for p in prompts)
            same = summary == plain and len(prompts) == expected and probe_seen
            ratio = min(seconds or [took]) / plain_s
            ok, fast = ok and same, fast and ratio <= TIME_GOAL
            print(f"  {mode + ':':14} {summary} ({min(seconds or [took]):.1f} s, {ratio:.2f}x "
                  f"plain{'' if ratio <= TIME_GOAL else ', over the goal'}); {wrapped} "
                  f"functions wrapped; {len(prompts)} prompts for {expected} failing tests"
                  + ("" if same else "  <-- DIFFERENT" if probe_seen
                     else "  <-- the probe's prompt was not seen"))
            for prompt in prompts[:keep] if not same else ():
                print("    stopped after:\n      " + prompt.replace("\n", "\n      "))
    return ok, fast


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="of: " + ", ".join(LIBRARIES) + " (default: all)")
    parser.add_argument("--show", type=int, default=5, help="prompts to show when different")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each kind, for the best time (default: 2)")
    options = parser.parse_args()
    for name in options.names:
        if name not in LIBRARIES:
            parser.error(f"unknown library {name!r}")
    results = [check(key, options.show, max(1, options.repeat))
               for key in options.names or LIBRARIES]
    same = all(ok for ok, _ in results)
    print(("all the same, one prompt per failing test" if same else "DIFFERENT") + "; "
          + ("every run within" if all(fast for _, fast in results) else "some run over")
          + f" {TIME_GOAL}x its plain time")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
