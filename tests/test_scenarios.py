"""End-to-end scenarios, driven in a real terminal the way a user would.

Each folder under ``scenarios/`` is one scenario: the program as it starts
(``main.py`` and any module beside it), the edits the user makes (a file
``NAME.SUFFIX`` replaces ``NAME`` at ``edit SUFFIX``), and ``steps``, a
script of what the user sees and types:

    debuggers NAMES    (before the program starts) the debuggers this scenario
                       runs under; by default pdb, and ipdb when installed
                       (only pdb for a scenario with no prompt step).
                       pudb runs only where a scenario names it, and then
                       must be installed
    command CMD        how to start the program ({python} is this Python,
                       {bin} the folder of its scripts; ``cd DIR && `` may
                       come first);
                       the default is ``{python} main.py``
    prompt             wait for the debugger prompt
    expect REGEX       wait for output matching REGEX
    send TEXT          type TEXT and Enter
    key KEY            press one key (a character, enter or ctrl-x)
    ctrl-c             press Ctrl-C
    edit SUFFIX        save the edited files
    edit-at-once SUFFIX
                       the same, stamped with the time of the save (the
                       others are stamped a second later, as a slow editor)
    edit-bytes SUFFIX  the same, byte for byte (a file in another encoding)
    replace FILE: OLD => NEW
                       edit FILE in place, replacing the text OLD by NEW
                       (\\n stands for a line break)
    example FILE       (before the program starts) copy examples/FILE in
    files-from NAME    (before the program starts) copy in the files of the
                       scenario NAME (not its steps)
    repeat N: A; B     do steps A and B, N times
    exit CODE          wait for the program to end with status CODE
    absent REGEX       the whole output must not match REGEX
    same-as-plain      the output is what the program prints with
                       hot-restart switched off (HOT_RESTART=0)
    same-as CMD        the output is what CMD prints (run with no terminal)

No step sleeps: each waits for what the program prints, and the steps
before an ``absent`` show that what it looks for could have been printed
(a negative check that could not see it would pass without checking).
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import ROOT

SCENARIOS = Path(__file__).parent / "scenarios"
# pudb is ready for keys once the dialog with hot-restart's banner is up
PROMPTS = {"pdb": r"\(Pdb\) ", "ipdb": r"ipdb> ", "pudb": r"< OK +>"}
KEYS = {"enter": "\r", "ctrl-x": "\x18"}
TIMEOUT = 30


def _exec(command):
    """The shell's words for ``command``: run in its place (so that its exit
    status is the program's), after a ``cd DIR &&`` that may come first."""
    where, _, rest = command.rpartition("&& ")
    return f"{where}&& exec {rest}" if where else f"exec {command}"


def _installed_debuggers():
    found = ["pdb"]
    if importlib.util.find_spec("ipdb") is not None:
        found.append("ipdb")
    return found


def _scenarios():
    """(scenario, debugger) pairs: each scenario under each debugger it runs with."""
    pairs = []
    for folder in sorted(p for p in SCENARIOS.iterdir() if (p / "steps").exists()):
        steps = (folder / "steps").read_text().splitlines()
        # a scenario that never reaches a prompt runs under one debugger
        wanted = _installed_debuggers() if "prompt" in steps else ["pdb"]
        for line in steps:
            if line.startswith("debuggers "):
                wanted = line.split()[1:]
        pairs += [pytest.param(folder.name, d, id=f"{folder.name}-{d}") for d in wanted]
    return pairs


def _pudb_settings(home):
    """A settings folder for pudb (``XDG_CONFIG_HOME``) in which its welcome
    dialog has been seen, so the first screen is the crash."""
    (home / "pudb").mkdir(parents=True)
    (home / "pudb" / "pudb.cfg").write_text("[pudb]\nseen_welcome = e999\n")
    return str(home)


class Terminal:
    def __init__(self, folder, command, debugger="pdb"):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb",
               "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "HOT_RESTART_DEBUGGER": debugger, "NO_COLOR": "1"}
        env.pop("HOT_RESTART", None)
        if debugger == "pudb":  # a full-screen program: a real terminal type
            assert importlib.util.find_spec("pudb"), "pip install -r dev-requirements.txt"
            env.update(TERM="xterm", XDG_CONFIG_HOME=_pudb_settings(folder.parent / "settings"))
        self.prompt = PROMPTS[debugger]
        command = command.replace("{python}", sys.executable).replace(
            "{bin}", os.path.dirname(sys.executable))
        self.env, self.command = env, command
        self.child = pexpect.spawn("/bin/sh", ["-c", _exec(command)], cwd=str(folder), env=env,
                                   encoding="utf-8", timeout=TIMEOUT, dimensions=(50, 200))
        self.folder = folder
        self.output = ""

    def expect(self, pattern):
        if isinstance(pattern, str):
            # steps are read line by line: a . in them does not cross a line
            # break (pexpect's own default, DOTALL, let a .* run on to a later
            # line and eat the output the next step waits for)
            pattern = re.compile(pattern)
        try:
            self.child.expect(pattern)
        except (pexpect.TIMEOUT, pexpect.EOF) as exc:
            self.output += self.child.before or ""
            raise AssertionError(f"waited for {pattern!r}; the program printed:\n"
                                 f"{self.output}") from exc
        after = self.child.after
        self.output += self.child.before + (after if isinstance(after, str) else "")

    def drain(self, quiet=0.3):
        """Read what the program has printed until it pauses, into the buffer
        that expect searches.  A full-screen program blocks in the middle of
        drawing when nobody reads the terminal, and then reads the keys typed
        meanwhile all at once (pudb drops the ones after a dialog's Enter)."""
        while True:
            try:
                self.child.buffer += self.child.read_nonblocking(1 << 16, timeout=quiet)
            except (pexpect.TIMEOUT, pexpect.EOF):
                return

    def edit(self, suffix, at_once=False, as_bytes=False):
        edited = sorted(self.folder.rglob(f"*.{suffix}"))
        assert edited, f"no files *.{suffix} in the scenario"
        for path in edited:
            if as_bytes:
                path.with_suffix("").write_bytes(path.read_bytes())
                self.save_stamp(path.with_suffix(""))
            elif at_once:
                path.with_suffix("").write_text(path.read_text())
            else:
                self.save(path.with_suffix(""), path.read_text())

    def replace(self, arg):
        name, _, change = arg.partition(": ")
        old, _, new = change.replace("\\n", "\n").partition(" => ")
        target = self.folder / name
        text = target.read_text()
        assert old in text, f"{old!r} is not in {name}"
        self.save(target, text.replace(old, new))

    @staticmethod
    def save(target, text):
        target.write_text(text)
        Terminal.save_stamp(target)

    @staticmethod
    def save_stamp(target):
        # Editors save at least a tick later; make sure the stamp moves.
        stat = target.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    def plain_output(self, command, switch_off=True):
        env = {**self.env, "HOT_RESTART": "0"} if switch_off else self.env
        command = command.replace("{python}", sys.executable)
        done = subprocess.run(["/bin/sh", "-c", _exec(command)], cwd=str(self.folder),
                              env=env, capture_output=True, text=True, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL)
        return done.stdout + done.stderr

    def finish(self, code):
        self.expect(pexpect.EOF)
        self.child.close()
        status = self.child.exitstatus
        assert status == int(code), f"exit status {status}, wanted {code}:\n{self.output}"


def _run_step(term, step):
    verb, _, arg = step.strip().partition(" ")
    if verb == "prompt":
        term.expect(term.prompt)
    elif verb == "expect":
        term.expect(arg)
    elif verb == "send":
        term.child.sendline(arg)
    elif verb == "key":
        term.drain()
        term.child.send(KEYS.get(arg, arg))
    elif verb == "ctrl-c":
        term.child.sendintr()
    elif verb == "edit":
        term.edit(arg)
    elif verb == "edit-at-once":
        term.edit(arg, at_once=True)
    elif verb == "edit-bytes":
        term.edit(arg, as_bytes=True)
    elif verb == "replace":
        term.replace(arg)
    elif verb == "repeat":
        count, _, body = arg.partition(":")
        for _ in range(int(count)):
            for inner in body.split(";"):
                _run_step(term, inner)
    elif verb == "exit":
        term.finish(arg)
    elif verb == "same-as-plain":
        plain = term.plain_output(term.command)
        assert term.output.replace("\r\n", "\n") == plain, (
            f"with hot-restart:\n{term.output}\nwithout:\n{plain}")
    elif verb == "same-as":
        other = term.plain_output(arg, switch_off=False)
        assert term.output.replace("\r\n", "\n") == other, (
            f"hot-restart printed:\n{term.output}\n{arg} printed:\n{other}")
    elif verb == "absent":
        assert not re.search(arg, term.output, re.DOTALL), f"{arg!r} was printed:\n{term.output}"
    else:
        raise ValueError(f"unknown step {step!r}")


@pytest.mark.parametrize("name, debugger", _scenarios())
def test_scenario(name, debugger, tmp_path):
    folder = tmp_path / name
    shutil.copytree(SCENARIOS / name, folder)
    steps = [line for line in (folder / "steps").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    command = "{python} main.py"
    while steps[0].startswith(("command ", "example ", "debuggers ", "files-from ")):
        verb, _, arg = steps.pop(0).partition(" ")
        if verb == "example":
            shutil.copyfile(ROOT / "examples" / arg, folder / arg)
        elif verb == "files-from":
            shutil.copytree(SCENARIOS / arg, folder, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("steps"))
        elif verb == "command":
            command = arg
    term = Terminal(folder, command, debugger)
    try:
        for step in steps:
            _run_step(term, step)
    finally:
        term.child.close(force=True)
    assert steps[-1].startswith(("exit", "absent", "same-as")), \
        "a scenario must check how it ends"
