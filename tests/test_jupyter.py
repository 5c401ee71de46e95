"""A real Jupyter kernel (ipykernel), driven through jupyter_client as a
notebook front end drives it: ``%load_ext hot_restart``, then a cell whose
call crashes in a module of the project.  The debugger's prompt arrives as
the kernel's input request; the test edits the module, answers ``c``, and
reads the cell's result."""

import os
import queue
import time

import pytest
from conftest import ROOT

pytestmark = pytest.mark.heavy

MODULE = '''\
def ratio(values):
    return values[0] / values[1]


def run(values):
    return "ratio " + str(ratio(values))
'''


def _execute(client, code, answer=None, timeout=60):
    """Run ``code`` in the kernel; answer each input request with
    ``answer(prompt)``.  Returns ``[(kind, text)]`` of what the cell sent:
    input prompts, streams, its result and its error."""
    msg_id = client.execute(code, allow_stdin=True)
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = client.get_stdin_msg(timeout=0.05)
        except queue.Empty:
            pass
        else:
            prompt = request["content"]["prompt"]
            seen.append(("input", prompt))
            client.input(answer(prompt) if answer else "q")
        try:
            msg = client.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            seen.append(("stream", content["text"]))
        elif kind == "execute_result":
            seen.append(("result", content["data"]["text/plain"]))
        elif kind == "error":
            seen.append(("error", content["ename"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return seen
    raise AssertionError(f"the cell did not finish in {timeout} s: {seen}")


def _saved(module, text, answer):
    """Save ``text`` as an editor does (the stamp moves), and answer ``answer``."""
    module.write_text(text)
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    return answer


def test_a_notebook_cell_stops_and_goes_on_with_the_fix(tmp_path):
    pytest.importorskip("ipykernel", reason="pip install -r dev-requirements.txt")
    manager = pytest.importorskip("jupyter_client.manager")
    module = tmp_path / "mymod.py"
    module.write_text(MODULE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOT_RESTART_DEBUGGER": "pdb",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("HOT_RESTART", None)
    kernel, client = manager.start_new_kernel(kernel_name="python3", cwd=str(tmp_path),
                                              env=env)
    try:
        loaded = _execute(client, "%load_ext hot_restart")
        assert any("modules imported from now on are wrapped" in text
                   for kind, text in loaded if kind == "stream"), loaded

        def fix_then_continue(prompt):
            return _saved(module, MODULE.replace("values[0] / values[1]",
                                                 "values[0] / (values[1] or 1)"), "c")

        seen = _execute(client, "import mymod; mymod.run([1, 0])", fix_then_continue)
        text = "".join(t for kind, t in seen if kind == "stream")
        assert [kind for kind, _ in seen if kind == "input"] == ["input"], seen
        assert "ZeroDivisionError in ratio(): division by zero" in text
        assert "> reloaded mymod.py: ratio (changed)" in text
        assert ("result", "'ratio 1.0'") in seen
        # q: after the stop, the cell's error, as the kernel reports it
        seen = _execute(client, 'mymod.run([1, "x"])')
        kinds = [kind for kind, _ in seen]
        assert "input" in kinds and ("error", "TypeError") in seen, seen
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)


WORKER_MODULE = '''\
def ratio(x):
    return 10 / (x - 3)
'''


def test_a_pool_worker_of_a_notebook_stops_in_the_notebook(tmp_path):
    """A process the notebook starts (a multiprocessing pool's worker, in a
    fresh interpreter) holds its session in the kernel, which shows it in
    the notebook as its own: its prompt is the kernel's input request."""
    pytest.importorskip("ipykernel", reason="pip install -r dev-requirements.txt")
    manager = pytest.importorskip("jupyter_client.manager")
    module = tmp_path / "workmod.py"
    module.write_text(WORKER_MODULE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOT_RESTART_DEBUGGER": "pdb",
           "PYTHONDONTWRITEBYTECODE": "1", "HOT_RESTART_DIR": str(tmp_path / "private")}
    env.pop("HOT_RESTART", None)
    kernel, client = manager.start_new_kernel(kernel_name="python3", cwd=str(tmp_path),
                                              env=env)
    try:
        _execute(client, "%load_ext hot_restart")

        def fix_then_continue(prompt):
            return _saved(module, WORKER_MODULE.replace("(x - 3)", "(x - 3 or 1)"), "c")

        seen = _execute(client, "import multiprocessing, workmod\n"
                                "with multiprocessing.get_context('spawn').Pool(1) as pool:\n"
                                "    print('results', pool.map(workmod.ratio, [1, 3]))",
                        fix_then_continue)
        text = "".join(t for kind, t in seen if kind == "stream")
        assert [kind for kind, _ in seen if kind == "input"] == ["input"], seen
        assert "(SpawnPoolWorker-1): ZeroDivisionError in ratio() at workmod.py:2 stopped; " \
               "its session is held here" in text, text
        assert "> reloaded workmod.py: ratio (changed)" in text
        assert "results [-5.0, 10.0]" in text
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
