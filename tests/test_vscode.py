"""VS Code's side, over the Debug Adapter Protocol.

The program runs under debugpy from PyPI, listening on loopback; a small
client written here plays VS Code: it attaches, asks to stop on uncaught
exceptions (VS Code's default), and then sees and does what a user would.
"""

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT

TIMEOUT = 60

PROGRAM = """\
import hot_restart


@hot_restart.wrap
def mean(values):
    count = len(values)
    total = sum(values)
    return total / (count - count)


def summarize(values):
    return "mean %s" % mean(values)


print(summarize([2, 4, 6]))
"""
FAILED_LINE = 8


class Client:
    """A minimal Debug Adapter Protocol client: requests, and every message
    received kept in order, output events included."""

    def __init__(self, port):
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.seq = 0
        self.inbox = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        stream = self.sock.makefile("rb")
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                self.inbox.put(json.loads(stream.read(length)))
        except OSError:
            pass
        finally:
            self.inbox.put(None)

    def send(self, command, **arguments):
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def wait(self, wanted, what):
        """The next message for which ``wanted`` is true (earlier ones are kept in ``seen``)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                message = self.inbox.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                message = None
            if message is None:
                raise AssertionError(f"waited for {what}; the debugger sent:\n"
                                     + "\n".join(json.dumps(m) for m in self.seen))
            self.seen.append(message)
            if wanted(message):
                return message

    def request(self, command, **arguments):
        seq = self.send(command, **arguments)
        response = self.wait(lambda m: m.get("type") == "response"
                             and m.get("request_seq") == seq, f"the answer to {command}")
        assert response["success"], response
        return response.get("body", {})

    def event(self, name):
        return self.wait(lambda m: m.get("type") == "event" and m.get("event") == name,
                         f"the event {name}").get("body", {})

    def output(self):
        return "".join(m["body"].get("output", "") for m in self.seen
                       if m.get("type") == "event" and m.get("event") == "output")


def _start(tmp_path, source, *command):
    """Start ``command`` (after ``python -m debugpy ...``) on ``main.py``
    holding ``source``, and attach to it as VS Code does."""
    program = tmp_path / "main.py"
    program.write_text(source)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("HOT_RESTART_DEBUGGER", None)
    env.pop("HOT_RESTART", None)
    # to a file, not a pipe: debugpy's adapter process holds on to a pipe
    with open(tmp_path / "printed.txt", "w") as printed:
        process = subprocess.Popen(
            [sys.executable, "-m", "debugpy", "--listen", f"127.0.0.1:{port}",
             "--wait-for-client", *command],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=printed,
            stderr=subprocess.STDOUT)
    process.printed = tmp_path / "printed.txt"
    try:
        client = Client(port)
        client.request("initialize", clientID="hot-restart-tests", adapterID="debugpy",
                       pathFormat="path", linesStartAt1=True, columnsStartAt1=True)
        attached = client.send("attach", justMyCode=True, redirectOutput=True)  # VS Code's default
        client.event("initialized")
        client.request("setExceptionBreakpoints", filters=["uncaught"])
        client.request("configurationDone")
        client.wait(lambda m: m.get("request_seq") == attached, "the answer to attach")
    except BaseException:
        process.kill()
        raise
    return client, program, process


@pytest.fixture
def started():
    """Calls _start, and stops what it started."""
    processes = []

    def start(*args):
        client, program, process = _start(*args)
        processes.append(process)
        return client, program, process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(TIMEOUT)


@pytest.fixture
def vscode(tmp_path, started):
    """The program above, run under debugpy; (client, program path, process)."""
    return started(tmp_path, PROGRAM, "main.py")


def _stack(client, stopped):
    return client.request("stackTrace", threadId=stopped["threadId"])["stackFrames"]


def _console_then_continue(client, stopped, expression):
    """Type ``expression`` in the Debug Console (in the top frame), then press Continue."""
    top = _stack(client, stopped)[0]
    client.request("evaluate", expression=expression, frameId=top["id"], context="repl")
    client.request("continue", threadId=stopped["threadId"])


def _finish(client, process, code):
    client.event("terminated")
    assert process.wait(TIMEOUT) == code, client.output()
    assert "PYDEV DEBUGGER WARNING" not in client.output()


def test_a_crash_stops_in_vscode_and_continue_runs_the_fixed_code(vscode):
    client, program, process = vscode
    stopped = client.event("stopped")
    assert stopped["reason"] == "exception"
    frames = _stack(client, stopped)
    # the crashed function on top, at the failed line, its callers alive below
    assert [f["name"] for f in frames[:3]] == ["mean", "summarize", "<module>"]
    assert frames[0]["line"] == FAILED_LINE
    assert os.path.samefile(frames[0]["source"]["path"], program)
    assert "hot-restart: ZeroDivisionError in mean(): division by zero" in client.output()
    assert "press Continue to reload it" in client.output()

    program.write_text(PROGRAM.replace("(count - count)", "count"))
    client.request("continue", threadId=stopped["threadId"])
    _finish(client, process, 0)
    assert "reloaded main.py: mean (changed)" in client.output()
    assert "mean 4.0" in client.output()


def test_reraise_in_the_debug_console_then_continue_propagates(vscode):
    client, program, process = vscode
    stopped = client.event("stopped")
    _console_then_continue(client, stopped, "hot_restart.reraise()")
    # uncaught now: VS Code stops once more, as it would without hot-restart
    again = client.event("stopped")
    assert again["reason"] == "exception"
    assert [f["name"] for f in _stack(client, again)][:3] == ["mean", "summarize", "<module>"]
    client.request("continue", threadId=again["threadId"])
    _finish(client, process, 1)
    assert "ZeroDivisionError: division by zero" in client.output()
    assert "mean 4.0" not in client.output()


def test_a_breakpoint_set_at_the_crash_fires_in_the_reloaded_code(vscode):
    client, program, process = vscode
    stopped = client.event("stopped")
    client.request("setBreakpoints", source={"path": str(program)},
                   breakpoints=[{"line": FAILED_LINE}])
    program.write_text(PROGRAM.replace("(count - count)", "count"))
    client.request("continue", threadId=stopped["threadId"])
    at_break = client.event("stopped")
    assert at_break["reason"] == "breakpoint"
    frames = _stack(client, at_break)
    assert (frames[0]["name"], frames[0]["line"]) == ("mean", FAILED_LINE)
    variables = client.request("scopes", frameId=frames[0]["id"])["scopes"][0]
    values = {v["name"]: v["value"] for v in client.request(
        "variables", variablesReference=variables["variablesReference"])["variables"]}
    assert values["total"] == "12"
    client.request("continue", threadId=at_break["threadId"])
    _finish(client, process, 0)
    assert "mean 4.0" in client.output()


def test_the_command_line_under_debugpy_needs_no_change_to_the_program(tmp_path, started):
    source = PROGRAM.replace("import hot_restart\n", "").replace("@hot_restart.wrap\n", "")
    client, program, process = started(tmp_path, source, "-m", "hot_restart", "main.py")
    stopped = client.event("stopped")
    assert stopped["reason"] == "exception"
    frames = _stack(client, stopped)
    assert [f["name"] for f in frames[:3]] == ["mean", "summarize", "<module>"]
    assert frames[0]["line"] == FAILED_LINE - 2  # no import, no decorator
    program.write_text(source.replace("(count - count)", "count"))
    client.request("continue", threadId=stopped["threadId"])
    _finish(client, process, 0)
    assert "mean 4.0" in client.output()


def test_when_vscode_disconnects_at_the_stop_the_exception_propagates(vscode):
    client, program, process = vscode
    client.event("stopped")
    client.request("disconnect", terminateDebuggee=False)
    assert process.wait(TIMEOUT) == 1  # no hang, no loop: the program ends as it would
    printed = process.printed.read_text()
    assert "no debugger client is attached, so the ZeroDivisionError propagates" in printed
    assert "ZeroDivisionError: division by zero" in printed


def test_pytest_under_debugpy_stops_in_vscode_and_reports_the_fixed_test(tmp_path, started):
    source = ("def area(side):\n"
              "    return side * 4\n"
              "\n"
              "\n"
              "def test_area():\n"
              "    assert area(3) == 9\n")
    (tmp_path / "test_area.py").write_text(source)
    client, program, process = started(
        tmp_path, "", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hot-restart",
        "test_area.py")
    stopped = client.event("stopped")
    assert stopped["reason"] == "exception"
    assert _stack(client, stopped)[0]["name"] == "test_area"
    (tmp_path / "test_area.py").write_text(source.replace("side * 4", "side * side"))
    client.request("continue", threadId=stopped["threadId"])
    _finish(client, process, 0)
    # pytest writes its report to the terminal's own stream, not through debugpy
    assert "1 passed" in process.printed.read_text()


def test_an_edit_that_does_not_compile_stops_again_in_vscode(vscode):
    client, program, process = vscode
    stopped = client.event("stopped")
    program.write_text(PROGRAM.replace("(count - count)", "(count"))
    client.request("continue", threadId=stopped["threadId"])
    again = client.event("stopped")  # the same failed call, still alive
    assert again["reason"] == "exception"
    assert _stack(client, again)[0]["name"] == "mean"
    assert "Nothing was reloaded and the old code is still in force" in client.output()
    assert "Fix the file and press Continue again" in client.output()
    program.write_text(PROGRAM.replace("(count - count)", "count"))
    client.request("continue", threadId=again["threadId"])
    _finish(client, process, 0)
    assert "mean 4.0" in client.output()


def test_threads_under_vscode_each_failure_stops_and_the_program_finishes(tmp_path, started):
    threads = (ROOT / "tests" / "scenarios" / "threads" / "main.py").read_text()
    client, program, process = started(tmp_path, threads, "main.py")
    first = client.event("stopped")
    assert _stack(client, first)[0]["name"] == "work"
    program.write_text(threads.replace("(n - n)", "n"))
    client.request("continue", threadId=first["threadId"])
    # The other thread stops too if it failed with the old code before the
    # first stop suspended it; if not, it runs the fixed code.
    after = client.wait(lambda m: m.get("type") == "event"
                        and m.get("event") in ("stopped", "terminated"), "a stop or the end")
    if after["event"] == "stopped":
        second = after["body"]
        assert second["threadId"] != first["threadId"]
        assert _stack(client, second)[0]["name"] == "work"
        client.request("continue", threadId=second["threadId"])
        client.event("terminated")
    assert process.wait(TIMEOUT) == 0, client.output()
    assert "results [(1, 100), (2, 50)]" in client.output()


def test_exit_in_the_debug_console_then_continue_ends_the_program(vscode):
    client, program, process = vscode
    stopped = client.event("stopped")
    _console_then_continue(client, stopped, "hot_restart.exit(3)")
    # VS Code stops on a SystemExit with a nonzero code, as for sys.exit(3)
    leaving = client.event("stopped")
    assert leaving["text"] == "SystemExit"
    client.request("continue", threadId=leaving["threadId"])
    _finish(client, process, 3)
    assert "mean 4.0" not in client.output()


def test_reraise_where_the_program_does_not_import_hot_restart(tmp_path, started):
    source = PROGRAM.replace("import hot_restart\n", "").replace("@hot_restart.wrap\n", "")
    client, program, process = started(tmp_path, source, "-m", "hot_restart", "main.py")
    stopped = client.event("stopped")
    _console_then_continue(client, stopped, "import hot_restart; hot_restart.reraise()")
    # VS Code's own stop on the uncaught exception: the wrapped callers let
    # it through without asking again, as without hot-restart
    stopped = client.event("stopped")
    assert "ZeroDivisionError in summarize()" not in client.output()
    client.request("continue", threadId=stopped["threadId"])
    _finish(client, process, 1)
    assert "ZeroDivisionError: division by zero" in client.output()
