"""The terminal that holds the sessions of a program's other processes (its
workers): what the program prints meanwhile, and the keys typed there."""

import os
import subprocess
import sys

import pexpect
import pytest
from conftest import ROOT

TIMEOUT = 30
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm"}


HOLDING_AT_EXIT = """
import sys, threading, time
import hot_restart
holder = hot_restart._Holder(None, None)
entered = threading.Event()
def show():  # a child's session, shown until after the program has ended
    with holder._held():
        entered.set()
        time.sleep(3)
threading.Thread(target=show, daemon=True).start()
entered.wait()
for n in range(3):
    print(f"parent line {n}", file=sys.stderr)
print("parent done")
"""


def test_output_held_during_a_session_is_written_when_the_program_ends_first():
    # the parent's last words (a traceback, most often) are written while a
    # worker's session is still being closed, and the program ends at once
    result = subprocess.run([sys.executable, "-c", HOLDING_AT_EXIT], capture_output=True,
                            text=True, timeout=TIMEOUT, env=ENV)
    assert result.stderr.splitlines() == [f"parent line {n}" for n in range(3)]
    assert result.stdout == "parent done\n"


READ_A_LINE = """
import sys
if sys.argv[1] == "plain":
    sys.modules["readline"] = None  # a Python built without it
elif sys.argv[1] == "libedit":  # macOS's: no pre-input hook
    import types
    sys.modules["readline"] = types.ModuleType("readline", "Importing this module enables "
                                               "command line editing using libedit readline.")
import hot_restart
try:
    line = hot_restart._read_in_shared_terminal("(Pdb) ")
except KeyboardInterrupt:
    line = "interrupted"
print(f"read {line!r}")
"""


@pytest.mark.parametrize("editing", ["readline", "plain", "libedit"])
def test_ctrl_c_at_a_held_prompt_clears_the_line_and_interrupts_no_one(editing):
    # the same terminal's interrupt would reach every process of the program
    child = pexpect.spawn(sys.executable, ["-c", READ_A_LINE, editing], env=ENV,
                          encoding="utf-8", timeout=TIMEOUT)
    child.expect_exact("(Pdb) ")
    child.send("p 1/")
    try:  # the keys are turned off just after the prompt is drawn
        child.read_nonblocking(100, timeout=0.3)
    except pexpect.TIMEOUT:
        pass
    child.sendintr()
    child.sendline("p x")
    child.expect(pexpect.EOF)
    assert "read 'p x'" in child.before, child.before
    child.close()
    assert child.exitstatus == 0
