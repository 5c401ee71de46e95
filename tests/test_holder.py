"""The terminal that holds the sessions of a program's other processes (its
workers): what the program prints meanwhile, and the keys typed there."""

import os
import subprocess
import sys

import pexpect
import pytest
from conftest import ROOT
from conftest import edit as _edit

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


# The Python programs a run starts: the starter the command line leaves on
# their PYTHONPATH.

SHOW = ("import os, sys; print('hot_restart' in sys.modules, "
        "any(os.path.basename(p).startswith('children-') for p in sys.path), "
        "os.environ.get('THEIRS'))")


@pytest.fixture
def starter(tmp_path, monkeypatch):
    """The starter a run of the command line writes, and the environment it
    gives its children."""
    import hot_restart as hr
    private = tmp_path / "private"
    monkeypatch.setenv("HOT_RESTART_DIR", str(private))
    for name in ("PYTHONPATH", "HOT_RESTART_CHILDREN"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    options = hr._parse_command_line(["main.py"])[0]
    hr._settings.children.carry([str(tmp_path)], options)
    env = {**os.environ}
    folder = private / f"children-{os.getpid()}"
    yield folder, env
    hr._remove_starter(str(folder), os.getpid())


def _show(env):
    done = subprocess.run([sys.executable, "-c", SHOW], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env, cwd="/")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_starter_acts_only_in_the_run(starter):
    folder, env = starter
    assert (folder / "sitecustomize.py").exists()
    # in the run: hot-restart is there, and the starter's folder is not on sys.path
    assert _show(env) == ["True", "False", "None"]
    # a Python program that is not of the run (the settings are not in its
    # environment) with the same path: nothing at all
    outside = {k: v for k, v in env.items() if k != "HOT_RESTART_CHILDREN"}
    assert _show(outside) == ["False", "False", "None"]
    # nor with hot-restart switched off
    assert _show({**env, "HOT_RESTART": "0"}) == ["False", "False", "None"]


def test_the_sitecustomize_the_starter_hides_still_runs(starter, tmp_path):
    folder, env = starter
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import os\nos.environ['THEIRS'] = 'ran'\n")
    env["PYTHONPATH"] += os.pathsep + str(theirs)
    assert _show(env) == ["True", "False", "ran"]


def test_the_starter_goes_with_its_run_and_a_killed_runs_with_the_next(starter, tmp_path):
    import hot_restart as hr
    folder, env = starter
    killed = folder.parent / "children-999999999"  # no such process
    killed.mkdir()
    (killed / "sitecustomize.py").write_text("raise SystemExit('stale')\n")
    socket = folder.parent / "terminal-999999999.sock"  # a killed holder's
    socket.write_text("")
    hr._remove_stale_starters(str(folder.parent))
    assert not killed.exists() and not socket.exists()
    assert folder.exists()  # its own run is alive
    hr._remove_starter(str(folder), os.getpid())
    assert not folder.exists()


@pytest.mark.parametrize("orig_argv, argv, expected", [
    pytest.param(["py", "child.py", "5"], ["child.py", "5"], ([], ["child.py"], ["5"]),
                 id="script"),
    pytest.param(["py", "-u", "-X", "dev", "child.py", "5"], ["child.py", "5"],
                 (["-u", "-X", "dev"], ["child.py"], ["5"]), id="options"),
    pytest.param(["py", "-m", "pkg.tool", "a"], ["-m", "a"], ([], ["-m", "pkg.tool"], ["a"]),
                 id="module"),
    pytest.param(["py", "-c", "print(1)", "a"], ["-c", "a"], ([], None, ["a"]), id="code"),
    pytest.param(["py"], [""], ([], None, []), id="interactive"),
    pytest.param(["py", "-c", "from multiprocessing.spawn import spawn_main; spawn_main()",
                  "--multiprocessing-fork"], ["-c", "--multiprocessing-fork"], None,
                 id="multiprocessing"),
])
def test_what_a_child_was_started_to_run(orig_argv, argv, expected):
    import hot_restart as hr
    assert hr._child_program(orig_argv, argv) == expected


# A holder that listens on TCP (for workers on other machines): TLS with a
# certificate made for the run, pinned by the workers, and the token.

TCP_PARENT = '''\
import os, subprocess, sys
print("holder at", os.environ["HOT_RESTART_TERMINAL"].split()[2], "token",
      os.environ["HOT_RESTART_TOKEN"], "fingerprint", os.environ["HOT_RESTART_FINGERPRINT"],
      flush=True)
done = subprocess.run([sys.executable, "child.py"])
print("the child ended with", done.returncode)
'''

TCP_CHILD = '''\
def compute(n):
    return 10 / (n - 5)


print("result", compute(5))
'''


def _stranger(address, hello, tls=None, certificate=None):
    """What a stranger gets from the holder at ``tcp:HOST:PORT``: the bytes
    it answers ``hello`` with, or the error that ended the connection."""
    import json
    import socket
    import ssl
    host, _, port = address[4:].rpartition(":")
    sock = socket.create_connection((host, int(port)), 10)
    try:
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            if certificate:
                context.load_cert_chain(*certificate)
            sock = context.wrap_socket(sock)
        sock.sendall((json.dumps(hello) + "\n").encode())
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        return answer
    except (OSError, ssl.SSLError) as exc:
        return exc
    finally:
        sock.close()


def test_strangers_get_nothing_from_a_holder_on_tcp(tmp_path):
    import ssl

    import hot_restart as hr
    (tmp_path / "main.py").write_text(TCP_PARENT)
    (tmp_path / "child.py").write_text(TCP_CHILD)
    env = {**ENV, "HOT_RESTART_LISTEN": "tcp", "HOT_RESTART_DEBUGGER": "pdb", "TERM": "dumb",
           "NO_COLOR": "1", "HOT_RESTART_DIR": str(tmp_path / "private")}
    env.pop("HOT_RESTART", None)
    holder = pexpect.spawn(sys.executable, ["-m", "hot_restart", "main.py"], cwd=str(tmp_path),
                           env=env, encoding="utf-8", timeout=TIMEOUT)
    try:
        holder.expect(r"holder at (tcp:127\.0\.0\.1:\d+) token (\w+) fingerprint (\w+)")
        address, token, fingerprint = holder.match.groups()
        # the child's session goes to the holder in TLS, pinned: it is shown
        holder.expect(r"ZeroDivisionError in compute\(\) at child.py:2 stopped; its session "
                      r"is held here")
        holder.expect(r"\(Pdb\) ")
        hello = {"hot-restart": 1, "token": token, "session": {"pid": 1}}
        # no TLS, even with the token: the connection ends, with nothing said
        plain = _stranger(address, hello)
        assert plain == b"" or isinstance(plain, ConnectionResetError), plain
        # TLS, without the token: refused
        refused = _stranger(address, {**hello, "token": "0" * 32}, tls=True)
        assert refused.startswith(b"hot-restart: this socket holds the terminal"), refused
        # a certificate that is not the run's: no TLS at all
        other = tmp_path / "other"
        other.mkdir()
        for name, text in zip(("cert.pem", "key.pem"), hr._self_signed("stranger")):
            (other / name).write_text(text)
        presented = _stranger(address, hello, tls=True,
                              certificate=(other / "cert.pem", other / "key.pem"))
        assert isinstance(presented, (ssl.SSLError, ConnectionResetError)) or presented == b"", (
            presented)
        # and a client pins the run's certificate: another holder is not it
        with pytest.raises(OSError, match="presents another certificate"):
            hr._tls_client(__import__("socket").create_connection(
                ("127.0.0.1", int(address.rpartition(":")[2]))), address, "0" * 64)
        # the session shown is unharmed
        holder.sendline("p n")
        holder.expect(r"\r\n5\r\n\(Pdb\) ")
        _edit(tmp_path / "child.py", "(n - 5)", "(n - 4)")
        holder.sendline("c")
        holder.expect(r"> reloaded child.py: compute \(changed\)")
        holder.expect(r"result 10.0")
        holder.expect(r"the child ended with 0")
        holder.expect(pexpect.EOF)
    finally:
        holder.close(force=True)
    assert holder.exitstatus == 0
