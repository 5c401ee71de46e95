"""``pytest --hot-restart`` next to pytest's own output.

Where no test fails, the plugin must not change a byte of what pytest
prints (but the ``plugins:`` line, which names it), in a terminal, where
it is on, and without one (CI), where it is off.  Each comparison runs the
same project twice, with the plugin switched off (``-p no:hot_restart``) and
with ``--hot-restart``; a probe test writes down whether its code was
instrumented, so a comparison in a terminal knows the plugin was on.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import fetch_sources
import pexpect
import pytest

PROJECT = Path(__file__).parent / "plugin_project"
TIMEOUT = 180

OPTION_SETS = [
    pytest.param([], id="default"),
    pytest.param(["-s"], id="-s"),
    pytest.param(["-q"], id="-q"),
    pytest.param(["-v"], id="-v"),
    pytest.param(["--tb=short"], id="--tb=short"),
    pytest.param(["--tb=line", "-x"], id="--tb=line-x"),
    pytest.param(["-rA"], id="-rA"),
    pytest.param(["-p", "no:terminal"], id="no-terminal-plugin"),
    pytest.param(["-q", "-s", "--maxfail=1"], id="-q-s-maxfail"),
]


def _normalized(text):
    """The output as a terminal shows it: a line that pytest rewrites in
    place (its "collecting N items", written again every half second of
    collection) counts as its last version; durations and the plugins
    line left out."""
    text = re.sub(r" in \d+\.\d+s( \(\d+:\d\d:\d\d\))?", " in <time>",
                  text.replace("\r\n", "\n"))
    shown = [line.rpartition("\r")[2] for line in text.split("\n")]
    return "\n".join(line for line in shown if not line.startswith("plugins:"))


def _run(folder, args, terminal, probe, pythonpath=()):
    """What ``python -m pytest ARGS`` prints in ``folder``: in a terminal
    (a pseudo-terminal 40 lines by 120, stdout and stderr together), or
    with no terminal (stdin from /dev/null; stdout, then stderr)."""
    env = {**os.environ, "HOT_RESTART_PROBE": str(probe), "HOT_RESTART_DEBUGGER": "pdb",
           "TERM": "dumb", "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    for name in ("HOT_RESTART", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "COLUMNS", "LINES"):
        env.pop(name, None)
    if probe.exists():
        probe.unlink()
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    if not terminal:
        done = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        return _normalized(done.stdout + "\n--- stderr ---\n" + done.stderr)
    child = pexpect.spawn(args[0], args[1:], cwd=str(folder), env=env, encoding="utf-8",
                          timeout=TIMEOUT, dimensions=(40, 120))
    found = child.expect([pexpect.EOF, r"\(Pdb\) "])
    output = child.before
    child.close(force=True)
    assert found == 0, f"pytest stopped at a prompt:\n{output}"
    return _normalized(output)


def _probe(path):
    return path.read_text() if path.exists() else "the probe test did not run"


def _compare(folder, options, terminal, probe, pythonpath=()):
    plain = _run(folder, ["-p", "no:hot_restart", *options], terminal, probe, pythonpath)
    assert _probe(probe) == "plain"
    ours = _run(folder, [*options, "--hot-restart"], terminal, probe, pythonpath)
    assert _probe(probe) == ("instrumented" if terminal else "plain"), (
        "with --hot-restart " + ("in a terminal the tests must run instrumented" if terminal
                                 else "and no terminal nothing may be instrumented"))
    assert ours == plain, f"pytest printed:\n{plain}\nwith --hot-restart:\n{ours}"


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    shutil.copytree(PROJECT, folder)
    return folder


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "no-terminal"])
@pytest.mark.parametrize("options", OPTION_SETS)
def test_the_same_output_as_pytest(project, options, terminal, tmp_path):
    _compare(project, options, terminal, tmp_path / "probe")


def test_failures_without_a_terminal_are_reported_as_pytest_does(project, tmp_path):
    (project / "test_failing.py").write_text(
        "import bank\n\n\ndef test_fails(account):\n    print('about to fail')\n"
        "    assert bank.deposit(account, 0) == 10\n")
    _compare(project, ["-rA"], False, tmp_path / "probe")


# Real projects' suites, never written with hot-restart in mind: their
# source distributions, fetched at set-up (tests/fetch_sources.py), at
# versions that run on 3.11-3.15.
REAL_PROJECTS = fetch_sources.SOURCES


@pytest.fixture(scope="session")
def real_projects(tmp_path_factory):
    into = tmp_path_factory.mktemp("real-projects")
    folders = {}
    for requirement in REAL_PROJECTS:
        archive = fetch_sources.archive(requirement)
        if not archive.exists():
            pytest.fail(f"{archive} is missing: the set-up fetches it (python "
                        f"tests/fetch_sources.py, see the README)")
        with tarfile.open(archive) as tar:
            tar.extractall(into, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        folders[requirement] = into / archive.name[:-len(".tar.gz")]
    return folders


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "no-terminal"])
@pytest.mark.parametrize("options", [pytest.param([], id="default"), pytest.param(["-v"], id="-v")])
@pytest.mark.parametrize("requirement", list(REAL_PROJECTS))
def test_a_real_suite_prints_the_same(real_projects, requirement, options, terminal, tmp_path):
    folder = real_projects[requirement]
    tests, path = REAL_PROJECTS[requirement]
    probe_test = folder / (tests if (folder / tests).is_dir() else ".") / "test_zz_probe.py"
    shutil.copyfile(PROJECT / "test_probe.py", probe_test)
    _compare(folder, [tests, str(probe_test.relative_to(folder)), *options] if
             not (folder / tests).is_dir() else [tests, *options], terminal, tmp_path / "probe",
             [folder / p for p in path])
