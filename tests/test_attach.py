"""A detached program (no terminal anywhere) that opted in waits for a
debugger, and ``python -m hot_restart attach`` connects to it from another
terminal: both ends are driven with pexpect, the program's in a new session
with standard input from /dev/null, as a service manager starts it."""

import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import ROOT
from conftest import edit as _edit

PROGRAM = Path(__file__).parent / "attach_program" / "daemon.py"
TIMEOUT = 30


@pytest.fixture
def job(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    shutil.copy(PROGRAM, folder / "daemon.py")
    sockets = Path(f"/tmp/hr-test-{os.getpid()}-{tmp_path.name[-8:]}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "TERM": "dumb",
           "HOT_RESTART_DIR": str(sockets), "HOT_RESTART_DEBUGGER": "pdb", "NO_COLOR": "1"}
    env.pop("HOT_RESTART", None)
    yield folder, env, sockets
    shutil.rmtree(sockets, ignore_errors=True)


def _detached(folder, env, *options):
    """The program, with no terminal: setsid, and stdin from /dev/null."""
    command = " ".join([sys.executable, "-m", "hot_restart", *options, "daemon.py"])
    return pexpect.spawn("/bin/sh", ["-c", f"exec setsid --wait {command} < /dev/null"],
                         cwd=str(folder), env=env, encoding="utf-8", timeout=TIMEOUT)


def _attach(folder, env, *args):
    return pexpect.spawn(sys.executable, ["-m", "hot_restart", "attach", *args],
                         cwd=str(folder), env=env, encoding="utf-8", timeout=TIMEOUT,
                         dimensions=(50, 200))


def test_a_detached_program_waits_and_is_fixed_from_another_terminal(job):
    folder, env, sockets = job
    program = _detached(folder, env, "--attach")
    program.expect(r"handled 2 total 70.0")
    program.expect(r"hot-restart: ZeroDivisionError in handle\(\) \(process (\d+)\) waits for "
                   r"a debugger: run  python -m hot_restart attach (\d+)  as the same user")
    pid = program.match.group(1)
    assert program.match.group(2) == pid

    # only this user's folder, and a socket only this user can open
    assert stat.S_IMODE(sockets.stat().st_mode) == 0o700
    listed = subprocess.run([sys.executable, "-m", "hot_restart", "attach", "--list"], env=env,
                            cwd=folder, capture_output=True, text=True, timeout=TIMEOUT)
    assert listed.returncode == 0
    assert (f"1. process {pid} (daemon.py): ZeroDivisionError in handle() at daemon.py:3: "
            f"division by zero (waiting") in listed.stdout

    # something that does not speak the protocol is refused, and the session waits on
    with socket.socket(socket.AF_UNIX) as stranger:
        stranger.settimeout(TIMEOUT)
        stranger.connect(str(sockets / f"session-{pid}.sock"))
        stranger.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = stranger.recv(1000).decode()
    assert answer.startswith(f"hot-restart: this socket holds a waiting debugger session of "
                             f"process {pid}; only hot-restart connects to it")

    # a first client looks and detaches with Ctrl-C; a second one's connection
    # drops (its terminal is closed): the session goes on waiting each time
    first = _attach(folder, env)
    first.expect(rf"hot-restart: attached to process {pid} \(daemon.py\): ZeroDivisionError "
                 rf"in handle\(\) at daemon.py:3; Ctrl-C detaches")
    first.expect(r"ZeroDivisionError in handle\(\): division by zero")
    first.expect(r"\(Pdb\) ")
    first.sendline("p job")
    first.expect(r"\r\n0\r\n\(Pdb\) ")
    first.sendintr()
    first.expect(rf"hot-restart: detached; process {pid} still waits \(python -m hot_restart "
                 rf"attach {pid}\)")
    first.expect(pexpect.EOF)
    first.close()
    assert first.exitstatus == 1

    dropped = _attach(folder, env, pid)
    dropped.expect("the previous client left; the session goes on here")
    dropped.expect(r"\(Pdb\) ")
    dropped.close(force=True)

    second = _attach(folder, env, pid)
    second.expect("the previous client left; the session goes on here")
    second.expect(r"\(Pdb\) ")
    second.sendline("p total")
    second.expect(r"\r\n70.0\r\n\(Pdb\) ")
    _edit(folder / "daemon.py", "return 100 / job", "return 100 / (job or 1)")
    second.sendline("c")
    second.expect(r"> reloaded daemon.py: handle \(changed\)")
    second.expect(rf"hot-restart: the session of process {pid} ended \(continue\)")
    second.expect(pexpect.EOF)
    second.close()
    assert second.exitstatus == 0

    program.expect(r"handled 0 total 170.0")
    program.expect(r"finished 195.0")
    program.expect(pexpect.EOF)
    program.close()
    assert program.exitstatus == 0
    assert not list(sockets.iterdir())  # nothing left behind


def test_with_a_time_limit_the_error_propagates_when_no_one_attaches(job):
    folder, env, _ = job
    program = _detached(folder, env, "--attach-timeout", "1", "--attach")
    program.expect(r"waits for 1 s for a debugger")
    program.expect(r"hot-restart: no debugger opens for ZeroDivisionError in handle\(\): no "
                   r"debugger attached within 1 s; it propagates as usual.")
    program.expect(r"ZeroDivisionError: division by zero")
    program.expect(pexpect.EOF)
    program.close()
    assert program.exitstatus == 1


def test_without_the_opt_in_a_detached_program_never_waits(job):
    folder, env, _ = job
    program = _detached(folder, env)
    program.expect(r"ZeroDivisionError: division by zero")
    program.expect(pexpect.EOF)
    program.close()
    assert program.exitstatus == 1
    assert "waits" not in program.before


def test_a_folder_that_others_can_enter_is_refused(job):
    folder, env, sockets = job
    sockets.mkdir(mode=0o755)
    os.chmod(sockets, 0o755)
    program = _detached(folder, env, "--attach")
    program.expect(rf"hot-restart: no debugger opens for ZeroDivisionError in handle\(\): "
                   rf"{sockets} is not a folder that only you can enter \(it must be yours, "
                   rf"with mode 0700\); remove it, or set HOT_RESTART_DIR to another")
    program.expect(pexpect.EOF)
    program.close()
    assert program.exitstatus == 1


def test_attach_says_when_nothing_waits(job):
    folder, env, _ = job
    done = subprocess.run([sys.executable, "-m", "hot_restart", "attach"], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 1
    assert "hot-restart: no session is waiting for a debugger" in done.stderr


PARENT = '''\
import os
import subprocess
import sys

print("holder at", os.environ["HOT_RESTART_TERMINAL"].split()[2], flush=True)
input("go? ")
done = subprocess.run([sys.executable, "child.py"], capture_output=True, text=True)
print("the child printed", done.stdout.strip())
'''

CHILD = '''\
import hot_restart


@hot_restart.wrap
def compute(n):
    return n / (n - 5)


print("result", compute(5))
'''


def test_sessions_over_tcp_need_the_holders_secret(tmp_path):
    """HOT_RESTART_LISTEN=tcp: the terminal's process listens on TCP (for
    workers on other machines); a connection without its secret is refused,
    and a child that has it (from the environment) holds its session there."""
    (tmp_path / "main.py").write_text(PARENT)
    (tmp_path / "child.py").write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "TERM": "dumb",
           "HOT_RESTART_LISTEN": "tcp:127.0.0.1", "HOT_RESTART_DEBUGGER": "pdb"}
    env.pop("HOT_RESTART", None)
    term = pexpect.spawn(sys.executable, ["-m", "hot_restart", "main.py"], cwd=str(tmp_path),
                         env=env, encoding="utf-8", timeout=TIMEOUT)
    try:
        term.expect(r"holder at tcp:127.0.0.1:(\d+)")
        port = int(term.match.group(1))
        term.expect("go")
        for hello in (b'{"hot-restart": 1, "session": {}, "token": "guess"}\n', b"hello\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as stranger:
                stranger.sendall(hello)
                answer = stranger.recv(1000).decode()
            assert answer.startswith("hot-restart: this socket holds the terminal of process")
        term.sendline("")
        term.expect(r"hot-restart: process \d+ \(child.py\): ZeroDivisionError in compute\(\) "
                    r"at child.py:6 stopped; its session is held here")
        term.expect(r"\(Pdb\) ")
        _edit(tmp_path / "child.py", "n / (n - 5)", "n * 2")
        term.sendline("c")
        term.expect(r"> reloaded child.py: compute \(changed\)")
        term.expect("the child printed result 10")
        term.expect(pexpect.EOF)
        term.close()
        assert term.exitstatus == 0
    finally:
        term.close(force=True)

