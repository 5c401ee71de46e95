"""Web servers and task workers, run as a user runs them: in a terminal, a
real server on a loopback port and a real HTTP client (or a real Celery
worker and a client process).  The view that fails stops the server's
request in the debugger; the fix is loaded on ``c`` and the client's very
request gets the fixed response; ``q`` lets the framework answer its 500
(or record the task's failure)."""

import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pexpect
import pytest
from conftest import ROOT

FLASK_APP = '''\
from flask import Flask, abort

app = Flask(__name__)


@app.route("/")
def index():
    return "total " + str(total([1, 2, 3]))


@app.route("/missing")
def missing():
    abort(404)


@app.route("/ratio")
def ratio():
    return str(int("one") / 2)


def total(values):
    return sum(values) / 0
'''


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path, into):
    """GET ``path``; puts the status and the body in ``into``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as r:
            into.update(status=r.status, body=r.read().decode())
    except urllib.error.HTTPError as e:
        into.update(status=e.code, body=e.read().decode())


def _save(path, text):
    path.write_text(text)
    stat = path.stat()  # an editor's save, at least a tick later
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _spawn(args, folder):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb", "NO_COLOR": "1",
           "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "HOT_RESTART_DEBUGGER": "pdb"}
    for name in ("HOT_RESTART", "FLASK_DEBUG", "FLASK_APP"):
        env.pop(name, None)
    return pexpect.spawn(sys.executable, args, cwd=str(folder), env=env, encoding="utf-8",
                         timeout=60, dimensions=(50, 200))


FASTAPI_APP = '''\
import asyncio

from fastapi import FastAPI, HTTPException

app = FastAPI()


@app.get("/")
async def index():
    return {"total": await total([1, 2, 3])}


@app.get("/missing")
async def missing():
    raise HTTPException(status_code=404, detail="no such thing")


@app.get("/ratio")
def ratio():  # a plain def: FastAPI runs it in a worker thread
    return {"ratio": int("one") / 2}


async def total(values):
    await asyncio.sleep(0)
    return sum(values) / 0
'''


def _fixed_and_quit(server, port, app, source, fixed, stop, reloaded, logged):
    """The scenario both servers go through: a 404 the framework answers
    itself does not stop; the failing request stops, gets the fix after
    ``c``; a second failure, with ``q``, gets the framework's 500."""
    answer = {}
    _get(port, "/missing", answer)
    assert answer["status"] == 404
    answer = {}
    client = threading.Thread(target=_get, args=(port, "/", answer))
    client.start()
    server.expect(stop)
    server.expect(r"\(Pdb\) ")
    assert client.is_alive() and not answer, "the request must wait for the fix"
    _save(app, source.replace("sum(values) / 0", "sum(values) / 2"))
    server.sendline("c")
    server.expect(reloaded)
    client.join(60)
    assert answer == {"status": 200, "body": fixed}
    answer = {}
    client = threading.Thread(target=_get, args=(port, "/ratio", answer))
    client.start()
    server.expect(r"ValueError in ratio\(\)")
    server.expect(r"\(Pdb\) ")
    server.sendline("q")
    client.join(60)
    assert answer["status"] == 500
    server.expect(logged)
    server.sendintr()
    server.expect(pexpect.EOF)


DJANGO_PROJECT = '''\
import sys

from django.conf import settings

settings.configure(DEBUG=True, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["127.0.0.1"],
                   SECRET_KEY="only for this test", INSTALLED_APPS=[])

from django.http import Http404, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def index(request):
    return HttpResponse("total " + str(total([1, 2, 3])))


def missing(request):
    raise Http404("no such thing")


def ratio(request):
    return HttpResponse(str(int("one") / 2))


def total(values):
    return sum(values) / 0


urlpatterns = [path("", index), path("missing", missing), path("ratio", ratio)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
'''


ASGI_APP = '''\
async def app(scope, receive, send):
    """A bare ASGI application, no framework: uvicorn alone catches."""
    assert scope["type"] == "http"
    if scope["path"] == "/missing":
        status, body = 404, b"no such thing"
    elif scope["path"] == "/ratio":
        status, body = 200, ratio().encode()
    else:
        status, body = 200, ("total " + str(total([1, 2, 3]))).encode()
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


def ratio():
    return str(int("one") / 2)


def total(values):
    return sum(values) / 0
'''


# name: (the package it needs, the file, its text, the command (with the
# port), what the server prints when it listens, the fixed response's body,
# what the framework logs for the request it answers with a 500)
SERVERS = {
    "flask run": ("flask", "app.py", FLASK_APP,
                  ["-m", "flask", "--app", "app", "run", "--port", "{port}"],
                  "Running on http://127.0.0.1:{port}", "total 3.0",
                  r"Exception on /ratio \[GET\]"),
    "uvicorn": ("fastapi", "app.py", FASTAPI_APP,
                ["-m", "uvicorn", "app:app", "--port", "{port}", "--no-use-colors"],
                "Uvicorn running on http://127.0.0.1:{port}", '{"total":3.0}',
                r"Exception in ASGI application"),
    "uvicorn, a bare ASGI app": ("uvicorn", "app.py", ASGI_APP,
                                 ["-m", "uvicorn", "app:app", "--port", "{port}",
                                  "--no-use-colors"],
                                 "Uvicorn running on http://127.0.0.1:{port}", "total 3.0",
                                 r"Exception in ASGI application"),
    "django runserver": ("django", "manage.py", DJANGO_PROJECT,
                         ["manage.py", "runserver", "--noreload", "--no-color",
                          "127.0.0.1:{port}"],
                         "development server at http://127.0.0.1:{port}/", "total 3.0",
                         r"Internal Server Error: /ratio"),
}


def _started(package, filename, source, command, folder):
    """``(the app's file, the port, the server)``: the app written in
    ``folder`` and its server started there under the command line."""
    pytest.importorskip(package, reason="pip install -r dev-requirements.txt")
    app = folder / filename
    app.write_text(source)
    port = str(_free_port())
    server = _spawn(["-m", "hot_restart", *(a.replace("{port}", port) for a in command)],
                    folder)
    return app, port, server


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.heavy)
                                  if name.startswith("django") else name for name in SERVERS])
def test_a_server_stops_in_the_view_and_the_request_gets_the_fix(name, tmp_path):
    package, filename, source, command, ready, fixed, logged = SERVERS[name]
    app, port, server = _started(package, filename, source, command, tmp_path)
    try:
        server.expect(ready.replace("{port}", port))
        _fixed_and_quit(server, int(port), app, source, fixed,
                        r"ZeroDivisionError in total\(\): division by zero",
                        rf"> reloaded {filename}: total \(changed\)", logged)
    finally:
        server.close(force=True)


# The development servers with their reloaders on: the app runs in a child
# process that the reloader starts again when a file is saved (the fix,
# most often).  name: (the package it needs, the file, its text, the
# command, what the child prints when it listens, the fixed response's
# body, what the reloader prints when it sees the save, and when it starts
# the child again)
RELOADERS = {
    "flask run --debug": ("flask", "app.py", FLASK_APP,
                          ["-m", "flask", "--app", "app", "run", "--debug", "--port", "{port}"],
                          "Debugger PIN", "total 3.0", r"Detected change in '.*app.py'",
                          r"Restarting with stat"),
    "uvicorn --reload": ("fastapi", "app.py", FASTAPI_APP,
                         ["-m", "uvicorn", "app:app", "--reload", "--port", "{port}",
                          "--no-use-colors"],
                         "Application startup complete", '{"total":3.0}',
                         r"detected changes in 'app.py'", r"Application startup complete"),
    "django runserver": ("django", "manage.py", DJANGO_PROJECT,
                         ["manage.py", "runserver", "--no-color", "127.0.0.1:{port}"],
                         "development server at http://127.0.0.1:{port}/", "total 3.0",
                         r"manage.py changed, reloading",
                         r"development server at http://127\.0\.0\.1:{port}/"),
}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.heavy)
                                  if name.startswith("django") else name for name in RELOADERS])
def test_a_server_under_its_reloader_stops_in_its_child_and_the_request_gets_the_fix(
        name, tmp_path):
    """The reloader's child stops, held in the terminal; the save of the fix
    does not take the session away: the failed request gets the fixed
    response, then the reloader starts the child again, with the fix."""
    package, filename, source, command, ready, fixed, saw, restarted = RELOADERS[name]
    app, port, server = _started(package, filename, source, command, tmp_path)
    try:
        server.expect(ready.replace("{port}", port))
        answer = {}
        client = threading.Thread(target=_get, args=(int(port), "/", answer))
        client.start()
        server.expect(rf"hot-restart: process \d+ \(.*\): ZeroDivisionError in total\(\) at "
                      rf"{filename}:\d+ stopped; its session is held here")
        server.expect(r"\(Pdb\) ")
        _save(app, source.replace("sum(values) / 0", "sum(values) / 2"))
        server.expect(saw)  # the reloader would end the child now
        server.sendline("c")
        server.expect(rf"> reloaded {filename}: total \(changed\)")
        client.join(60)
        assert answer == {"status": 200, "body": fixed}
        server.expect(restarted.replace("{port}", port))
        answer = {}
        _get(int(port), "/", answer)  # the new child, from the fixed file
        assert answer == {"status": 200, "body": fixed}
        server.sendintr()
        server.expect(pexpect.EOF)
    finally:
        server.close(force=True)


CELERY_TASKS = '''\
import os

from celery import Celery

folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "broker")
for sub in ("queue", "processed", "results"):
    os.makedirs(os.path.join(folder, sub), exist_ok=True)
# a broker and a result store in files: a worker and a client in two
# processes, nothing else to run
app = Celery("tasks", broker="filesystem://",
             backend="file://" + os.path.join(folder, "results"))
app.conf.broker_transport_options = {
    "data_folder_in": os.path.join(folder, "queue"),
    "data_folder_out": os.path.join(folder, "queue"),
    "processed_folder": os.path.join(folder, "processed"),
}
app.conf.broker_connection_retry_on_startup = True


@app.task
def total(values):
    return sum(values) / 0


@app.task
def ratio():
    return int("one") / 2
'''

CELERY_CLIENT = '''\
import sys

import tasks

arguments = [[1, 2, 3]] if sys.argv[2:] == ["values"] else []
result = getattr(tasks, sys.argv[1]).delay(*arguments)
try:
    print("result:", result.get(timeout=60))
except Exception as exc:
    print("failed:", type(exc).__name__)
'''


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_a_celery_worker_stops_in_the_task_and_the_caller_gets_the_fix(tmp_path, pool):
    """A real worker and a client in another process; the task that fails
    stops the worker, and after the fix the client's ``result.get()`` has
    the fixed value.  With the solo pool the task runs in the worker's own
    process; with prefork, in a child process, whose session is held in the
    worker's terminal."""
    pytest.importorskip("celery", reason="pip install -r dev-requirements.txt")
    tasks = tmp_path / "tasks.py"
    tasks.write_text(CELERY_TASKS)
    (tmp_path / "client.py").write_text(CELERY_CLIENT)
    worker = _spawn(["-m", "hot_restart", "-m", "celery", "-A", "tasks", "worker",
                     f"--pool={pool}", "--concurrency=1", "--loglevel=info",
                     "--without-heartbeat", "--without-mingle", "--without-gossip"], tmp_path)

    def call(name, *args, into):
        into["output"] = subprocess.run(
            [sys.executable, "client.py", name, *args], cwd=tmp_path, capture_output=True,
            text=True, timeout=120, env={**os.environ, "HOT_RESTART": "0"}).stdout

    try:
        worker.expect("ready")
        answer = {}
        client = threading.Thread(target=call, args=("total", "values"), kwargs={"into": answer})
        client.start()
        if pool == "prefork":
            worker.expect(r"hot-restart: process \d+ \(ForkPoolWorker-1\): ZeroDivisionError in "
                          r"total\(\) at tasks.py:\d+ stopped; its session is held here")
        worker.expect(r"ZeroDivisionError in total\(\): division by zero")
        worker.expect(r"\(Pdb\) ")
        _save(tasks, CELERY_TASKS.replace("sum(values) / 0", "sum(values) / 2"))
        worker.sendline("c")
        worker.expect(r"> reloaded tasks.py: total \(changed\)")
        client.join(120)
        assert answer == {"output": "result: 3.0\n"}
        # q: Celery records the task's failure, as without hot-restart
        answer = {}
        client = threading.Thread(target=call, args=("ratio",), kwargs={"into": answer})
        client.start()
        worker.expect(r"ValueError in ratio\(\)")
        worker.expect(r"\(Pdb\) ")
        worker.sendline("q")
        client.join(120)
        assert answer == {"output": "failed: ValueError\n"}
        worker.sendintr()
        worker.expect(pexpect.EOF)
    finally:
        worker.close(force=True)
