"""A detached program (no terminal anywhere) that opted in waits for a
debugger, and ``python -m hot_restart attach`` connects to it from another
terminal: both ends are driven with pexpect, the program's in a new session
with standard input from /dev/null, as a service manager starts it."""

import os
import re
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


# Sessions over TCP, in TLS: see tests/test_holder.py.


# Attaching to a program that runs without hot-restart (3.14+: sys.remote_exec)

RUNNING = Path(__file__).parent / "attach_running"


def _plain_program(tmp_path, python=sys.executable):
    """main.py run with plain python in a terminal of its own; hot_restart
    is not on its path."""
    for name in ("main.py", "prices.py", "report.py"):
        shutil.copy(RUNNING / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOT_RESTART", "PYTHON"))}
    program = pexpect.spawn(python, ["main.py"], cwd=str(tmp_path), env={**env, "TERM": "dumb"},
                            encoding="utf-8", timeout=TIMEOUT)
    program.expect(r"started (\d+)")
    return program, program.match.group(1)


def _order(folder, word):
    (folder / "order.new").write_text(word)
    os.replace(folder / "order.new", folder / "order")


@pytest.mark.skipif(sys.version_info < (3, 14), reason="attaching by PID needs Python 3.14+")
def test_attach_to_a_program_started_with_plain_python(tmp_path):
    program, pid = _plain_program(tmp_path)
    sockets = Path(f"/tmp/hr-test-{os.getpid()}-{tmp_path.name[-8:]}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb", "NO_COLOR": "1",
           "HOT_RESTART_DIR": str(sockets), "HOT_RESTART_DEBUGGER": "pdb"}
    try:
        client = _attach(tmp_path, env, pid)
        client.expect(rf"hot-restart: attached to process {pid} \(main.py\): 3 functions "
                      rf"wrapped in 2 modules; its next crash stops here.  Ctrl-C detaches.")
        # a crash in a module the program imported before: it stops here, live
        _order(tmp_path, "sum")
        client.expect(rf"hot-restart: process {pid} \(main.py\): NameError in total\(\) at "
                      rf"prices.py:2 stopped; its session is held here")
        client.expect(r"\(Pdb\) ")
        client.sendline("p prices")
        client.expect(r"\[3, 4\]\r\n\(Pdb\) ")
        _edit(tmp_path / "prices.py", "tax_rate", "1.5")
        client.sendline("c")
        client.expect(r"> reloaded prices.py: total \(changed\)")
        program.expect(rf"round sum in {pid}: 10.5")
        # a module imported after the attach is instrumented: it stops too
        _order(tmp_path, "late")
        client.expect(r"ZeroDivisionError in summary\(\) at report.py:2 stopped")
        client.expect(r"\(Pdb\) ")
        _edit(tmp_path / "report.py", "(len(values) - 3)", "len(values)")
        client.sendline("c")
        program.expect(rf"round late in {pid}: mean 2.0")
        # Ctrl-C detaches: the program runs on, and crashes as plain python would
        client.sendintr()
        client.expect(rf"hot-restart: detached; process {pid} runs on as before")
        client.expect(pexpect.EOF)
        client.close()
        assert client.exitstatus == 1
        _order(tmp_path, "boom")
        program.expect(r"ZeroDivisionError: division by zero")
        program.expect(pexpect.EOF)
        program.close()
        assert program.exitstatus == 1
        assert "Pdb" not in program.before
    finally:
        program.close(force=True)
        shutil.rmtree(sockets, ignore_errors=True)


def _older_python():
    """An interpreter older than 3.14 on this machine, or None."""
    candidates = ["/usr/bin/python3", "/usr/local/bin/python3"]
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(str(p) for p in Path(root, "versions").glob("3.1*/bin/python"))
    for python in candidates:
        try:
            version = subprocess.run([python, "-c", "import sys; print(sys.version_info >= "
                                      "(3, 10) and sys.version_info < (3, 14))"],
                                     capture_output=True, text=True, timeout=TIMEOUT).stdout
        except OSError:
            continue
        if version.strip() == "True":
            return python
    return None


def test_attaching_to_a_running_program_is_refused_before_3_14(tmp_path):
    """The client on 3.14+ refuses a program of an older Python; a client
    older than 3.14 says what it needs.  One line each, and no harm done."""
    if sys.version_info >= (3, 14):
        older = _older_python()
        if older is None:
            pytest.skip("no Python older than 3.14 on this machine to start the program with")
        program, pid = _plain_program(tmp_path, older)
        expected = rf"hot-restart: process {pid} runs Python 3\.1[0-3], which cannot be attached"
    else:
        program, pid = _plain_program(tmp_path)
        expected = (rf"hot-restart: process {pid} has no session waiting, and attaching to a "
                    rf"program that runs without hot-restart needs Python 3.14 or later")
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HOT_RESTART_DIR": str(tmp_path / "s")}
        done = subprocess.run([sys.executable, "-m", "hot_restart", "attach", pid], env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert done.returncode == 1
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert re.match(expected, done.stderr), done.stderr
        _order(tmp_path, "stop")
        program.expect("finished")
        program.expect(pexpect.EOF)
    finally:
        program.close(force=True)


def test_attach_to_a_process_that_is_not_there(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOT_RESTART_DIR": str(tmp_path / "s")}
    done = subprocess.run([sys.executable, "-m", "hot_restart", "attach", "999999999"], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 1
    assert done.stderr.startswith("hot-restart: ") and "999999999" in done.stderr, done.stderr
