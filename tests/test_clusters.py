"""Edit and continue inside Ray tasks and Dask workers, with real engines on
this machine: a Ray local cluster, Ray's multi-node simulation with the
job's working_dir shipped (the worker runs a copy), and a Dask LocalCluster
with worker processes.  The driver runs in a terminal (pexpect); the task
crashes in its worker, the session opens in the driver's terminal, the test
edits the local file and types c, and the driver prints the fixed result;
q makes the task fail as the engine reports it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import ROOT
from conftest import edit as _edit

JOBS = Path(__file__).parent / "cluster_jobs"
TIMEOUT = 120

pytestmark = pytest.mark.heavy


def _driver(tmp_path, name, argument, **more_env):
    folder = tmp_path / name
    shutil.copytree(JOBS / name, folder)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb", "NO_COLOR": "1",
           "HOT_RESTART_DEBUGGER": "pdb", "PYTHONUNBUFFERED": "1", "RAY_AUTH_MODE": "disabled",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0"}
    env.pop("HOT_RESTART", None)
    env.update(more_env)
    child = pexpect.spawn(sys.executable, ["-m", "hot_restart", "driver.py", argument],
                          cwd=str(folder), env=env, encoding="utf-8", timeout=TIMEOUT,
                          dimensions=(50, 250))
    return folder, child


def _finish(child, status):
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == status, child.before


# a task that fails on a local cluster: (engine's module, job, the worker's
# name, the line, how the engine reports the failure after q)
LOCAL = {
    "ray": ("ray", "ray_local", r"default_worker.py", 10,
            r"ray.exceptions.RayTaskError\(ZeroDivisionError\)"),
    "dask": ("distributed", "dask_local", r"Dask Worker process \(from Nanny\)", 8,
             r"client.submit\(work"),
}


@pytest.mark.parametrize("answer", ["c", "q"])
@pytest.mark.parametrize("engine", LOCAL)
def test_a_task_on_a_local_cluster(tmp_path, engine, answer):
    """The function of the driver's script, sent to the worker by value."""
    module, job, worker, line, reported = LOCAL[engine]
    pytest.importorskip(module, reason="pip install -r dev-requirements.txt")
    folder, child = _driver(tmp_path, job, "3")
    try:
        child.expect(rf"hot-restart: process \d+ \({worker}\): ZeroDivisionError in "
                     rf"work\(\) at driver.py:{line} stopped; its session is held here")
        child.expect(r"\(Pdb\) ")
        child.sendline("p x")
        child.expect(r"\r\n3\r\n\(Pdb\) ")
        # the source, also where the code came without its file's name
        child.sendline("list")
        child.expect(rf"\r\n *{line}  ->\t    return 100 / \(x - 3\)\r\n")
        child.expect(r"\(Pdb\) ")
        if answer == "c":
            _edit(folder / "driver.py", "100 / (x - 3)", "100 / (x + 1)")
            child.sendline("c")
            child.expect(r"> reloaded driver.py: work \(changed\)")
            child.expect(r"result 25.0")
            _finish(child, 0)
        else:  # the task fails as the engine reports it; the driver does not stop again
            child.sendline("q")
            child.expect(reported)
            child.expect(r"ZeroDivisionError: division by zero")
            _finish(child, 1)
            assert "(Pdb)" not in child.before
    finally:
        child.close(force=True)


def test_a_dask_task_stops_in_the_project_module_it_calls(tmp_path):
    """The task is the driver's function, sent by value; the function that
    fails is in another module of the project, which the worker imports
    itself: it is instrumented there, and the stop opens in it."""
    pytest.importorskip("distributed", reason="pip install -r dev-requirements.txt")
    folder, child = _driver(tmp_path, "dask_module", "3")
    try:
        child.expect(r"hot-restart: process \d+ \(Dask Worker process \(from Nanny\)\): "
                     r"ZeroDivisionError in ratio\(\) at helpers.py:2 stopped; its session is "
                     r"held here")
        child.expect(r"\(Pdb\) ")
        _edit(folder / "helpers.py", "100 / (x - 3)", "100 / (x + 1)")
        child.sendline("c")
        child.expect(r"> reloaded helpers.py: ratio \(changed\)")
        child.expect(r"result 26.0")
        _finish(child, 0)
    finally:
        child.close(force=True)


def test_ray_actor_method_keeps_the_actors_state(tmp_path):
    pytest.importorskip("ray", reason="pip install -r dev-requirements.txt")
    folder, child = _driver(tmp_path, "ray_actor", "3")
    try:
        child.expect("first 100.0")
        child.expect(r"hot-restart: process \d+ \(default_worker.py\): ZeroDivisionError in "
                     r"Counter.add\(\) at driver.py:11 stopped; its session is held here")
        child.expect(r"\(Pdb\) ")
        child.sendline("p self.total")
        child.expect(r"\r\n100.0\r\n\(Pdb\) ")
        _edit(folder / "driver.py", "100 / (x - 3)", "100 / (x + 1)")
        child.sendline("c")
        child.expect(r"> reloaded driver.py: Counter.add \(changed\)")
        child.expect(r"second 125.0")
        _finish(child, 0)
    finally:
        child.close(force=True)


@pytest.mark.parametrize("listen", ["unix", "tcp:127.0.0.1"])
def test_ray_task_on_a_cluster_runs_a_copy_and_gets_the_edit(tmp_path, listen):
    """Over the holder's Unix socket, and over TCP with its secret (the way
    for workers on other machines)."""
    pytest.importorskip("ray", reason="pip install -r dev-requirements.txt")
    folder, child = _driver(tmp_path, "ray_copy", "3", HOT_RESTART_LISTEN=listen)
    try:
        child.expect(r"hot-restart: process \d+ \(default_worker.py\): ZeroDivisionError in "
                     r"compute\(\) at /tmp/ray/\S*working_dir_files/\S*/tasks.py:6 stopped; its "
                     r"session is held here")
        child.expect(r"\(Pdb\) ")
        # the user edits the file on their side; the worker's copy is untouched
        _edit(folder / "job" / "tasks.py", "100 / (x - 3)", "100 / (x + 1)")
        child.sendline("c")
        child.expect(r"hot-restart: tasks.py is loaded from the client's copy \(job/tasks.py\), "
                     r"which differs from this process's")
        child.expect(r"> reloaded tasks.py: compute \(changed\)")
        child.expect(r"result \(25.0, 'from a copy: True'\)")
        _finish(child, 0)
    finally:
        child.close(force=True)


# Two hosts on this machine: two network namespaces joined by a veth pair.
# The Dask scheduler and its worker run in one, with their own copy of the
# project's source; the driver runs in the other, in a terminal, its holder
# listening on TCP (in TLS) at its own address.

CLUSTER_HOST, DRIVER_HOST = "10.77.0.1", "10.77.0.2"


@pytest.fixture
def two_hosts():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("two network namespaces need root and the ip command")
    name = f"hr{os.getpid() % 100000}"
    cluster, driver, one, two = f"{name}c", f"{name}d", f"{name}x", f"{name}y"
    steps = [["netns", "add", cluster], ["netns", "add", driver],
             ["link", "add", one, "type", "veth", "peer", "name", two],
             ["link", "set", one, "netns", cluster], ["link", "set", two, "netns", driver],
             ["-n", cluster, "addr", "add", f"{CLUSTER_HOST}/24", "dev", one],
             ["-n", driver, "addr", "add", f"{DRIVER_HOST}/24", "dev", two]]
    steps += [["-n", ns, "link", "set", dev, "up"]
              for ns, dev in ((cluster, one), (driver, two), (cluster, "lo"), (driver, "lo"))]
    try:
        for step in steps:
            done = subprocess.run(["ip", *step], capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"network namespaces cannot be made here: ip {' '.join(step)}: "
                            f"{done.stderr.strip()}")
        yield cluster, driver
    finally:
        for ns in (cluster, driver):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_a_dask_task_on_another_host_stops_in_the_drivers_terminal(tmp_path, two_hosts):
    """The worker's host has its own copy of the source; the fix is made on
    the driver's side, and the worker loads it from there at c."""
    pytest.importorskip("distributed", reason="pip install -r dev-requirements.txt")
    cluster, driver = two_hosts
    worker_copy, project = tmp_path / "cluster-host", tmp_path / "driver-host"
    shutil.copytree(JOBS / "dask_remote", project)
    worker_copy.mkdir()
    shutil.copy(project / "helpers.py", worker_copy / "helpers.py")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{worker_copy}", "NO_COLOR": "1",
           "PYTHONUNBUFFERED": "1", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    env.pop("HOT_RESTART", None)
    address = f"tcp://{CLUSTER_HOST}:8786"
    log = open(tmp_path / "cluster.log", "w")
    started = [subprocess.Popen(["ip", "netns", "exec", cluster, sys.executable, "-m",
                                 f"distributed.cli.dask_{what}", *arguments],
                                cwd=str(worker_copy), env=env, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
               for what, arguments in (
                   ("scheduler", ["--host", CLUSTER_HOST, "--port", "8786", "--no-dashboard"]),
                   ("worker", [address, "--nthreads", "1", "--nworkers", "1",
                               "--no-dashboard", "--host", CLUSTER_HOST]))]
    child = None
    try:
        command = " ".join(["exec", "ip", "netns", "exec", driver, sys.executable, "-m",
                            "hot_restart", "driver.py", address, "3"])
        child = pexpect.spawn("/bin/sh", ["-c", command], cwd=str(project),
                              env={**env, "PYTHONPATH": str(ROOT), "TERM": "dumb",
                                   "HOT_RESTART_DEBUGGER": "pdb",
                                   "HOT_RESTART_LISTEN": f"tcp:{DRIVER_HOST}"},
                              encoding="utf-8", timeout=TIMEOUT, dimensions=(50, 250))
        child.expect(r"hot-restart: process \d+ \(Dask Worker process \(from Nanny\)\): "
                     r"ZeroDivisionError in ratio\(\) at \S*cluster-host/helpers.py:2 stopped; "
                     r"its session is held here")
        child.expect(r"\(Pdb\) ")
        _edit(project / "helpers.py", "100 / (x - 3)", "100 / (x + 1)")
        child.sendline("c")
        child.expect(r"hot-restart: helpers.py is loaded from the client's copy \(helpers.py\), "
                     r"which differs from this process's")
        child.expect(r"> reloaded helpers.py: ratio \(changed\)")
        child.expect(r"result 26.0")
        _finish(child, 0)
        assert "100 / (x - 3)" in (worker_copy / "helpers.py").read_text()  # its copy, untouched
    finally:
        if child is not None:
            child.close(force=True)
        for process in started:
            process.terminate()
        for process in started:
            process.wait(30)
        log.close()
