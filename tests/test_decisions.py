"""In-process tables of the stop decision: a program, where it raises, and
whether hot-restart stops there.

Each row is a small program whose ``main()`` is called with every function
of the program wrapped and a terminal assumed.  A stop is recorded (and the
exception then propagates, as after ``q``) instead of opening a debugger.
Rows come in pairs where they can: the shape that a caller handles (no stop)
beside the same shape where nothing does (a stop), so each check can fail.
"""

import importlib
import sys
import textwrap
import threading
import types
import warnings

import pytest

import hot_restart as hr

COMMON = '''
import asyncio, concurrent.futures, contextlib, copy, enum, sys, time, unittest
import pytest

class ParseError(Exception):
    pass

class StopParsing(Exception):
    pass

def check(x):
    raise ValueError(x)

def waiting_for_a_result():
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code.co_name == "result" and frame.f_code.co_filename.endswith("_base.py"):
                return True
            frame = frame.f_back
    return False

def slow_check(x):
    # raise once another thread waits for this result (at most 5 s)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not waiting_for_a_result():
        time.sleep(0.01)
    raise ValueError(x)

def lookup(table, key):
    return table[key]

def group(**opts):
    # a decorator factory that refuses what it decorates
    def deco(fn):
        if opts.get("chain"):
            raise RuntimeError("chain groups cannot have optional subcommands")
        return fn
    return deco

class Seq:
    """Iterable through __getitem__ only."""
    def __init__(self, n):
        self.n = n
    def __getitem__(self, i):
        if i >= self.n:
            raise IndexError(i)
        return i

def index_error(seq):
    raise IndexError("out of range")

def apply(fn, seq):
    return fn(seq)

class Case(unittest.TestCase):
    def runTest(self):
        pass
    @contextlib.contextmanager
    def expect(self, exc):
        with self.assertRaises(exc):
            yield

def records(lines):
    for line in lines:
        if line == "END":
            raise StopParsing(line)
        yield line

async def fetch():
    raise ConnectionError("down")

def generated(source, name):
    """Run ``source`` compiled under ``name``, as a template engine runs the
    code it generates; returns its namespace."""
    namespace = {}
    exec(compile(source, name, "exec"), namespace)
    return namespace

# what a template engine compiles: code with no source file
TEMPLATE = "def run(f):\\n    try:\\n        return f(1)\\n    except %s:\\n        return 0\\n"

# what a template engine compiles from a template file: generated Python
# under the template's name, which the file (not Python) does not hold
PAGE = """
def render(context):
    yield "<p>"
    yield str(context["call"](1))
"""

# and for async rendering: async generators, an async for over another
ASYNC_PAGE = """
async def rows(context, source):
    async for item in source:
        if context["call"](item) == 0:
            yield item
async def root(context, source):
    async for item in rows(context, source):
        yield item
async def render(context, source):
    return [x async for x in root(context, source)]
"""

def render_page(tmp, call, fails_with):
    """Compile PAGE under a template's own file name; render it as an engine
    does: catch everything, rewrite the traceback, raise it again."""
    import os
    path = os.path.join(tmp, "page.html")
    with open(path, "w") as f:
        f.write("Hello\\n{{ call(1) }}\\n")  # which even parses as Python
    namespace = {}
    exec(compile(PAGE, path, "exec"), namespace)
    try:
        return "".join(namespace["render"]({"call": call}))
    except Exception as e:
        raise e.with_traceback(e.__traceback__.tb_next)

async def numbers():
    yield 1

# a template's test of a member, in code with no source: hasattr catches
# the AttributeError, getattr with two arguments does not
ATTR_PAGE = "def render_body(context):\\n    return %s(context['ns'], 'missing')\\n"
# mako passes the builtins it uses as arguments: hasattr is a local there
LOCAL_ATTR_PAGE = ("def render_body(context, hasattr=hasattr):\\n"
                   "    return hasattr(context['ns'], 'missing')\\n")

class Namespace:
    def __getattr__(self, key):
        raise AttributeError(f"Namespace has no member {key!r}")

# a command-line framework's lazy file, opened on first use, and its echo
# that lets a broken pipe go
class LazyFile:
    def __init__(self, name):
        self.name, self.file = name, None
    def open(self):
        if self.file is None:
            self.file = open(self.name, "w")
        return self.file
    def __getattr__(self, name):
        return getattr(self.open(), name)

def echo(out, text):
    import errno
    try:
        out.write(text)
    except OSError as e:
        if e.errno != errno.EPIPE:
            raise

# and what mako makes of a template: a body in try/finally, calling back
FINALLY_PAGE = """
def render_body(context):
    context["stack"].append("frame")
    try:
        return context["call"](1)
    finally:
        context["stack"].pop()
"""

# a KeyError through two wrapped functions to one that catches it and, on
# a test the decision cannot evaluate, raises it again; and the same in a
# recursion whose level 2 catches
def lookup_deeper():
    return lookup({}, "x")

def lookup_through():
    return lookup_deeper()

def catcher():
    try:
        return lookup_through()
    except KeyError as e:
        if e.args[0] == "x":
            raise
        return None

def descend(depth):
    if depth == 0:
        return lookup({}, "x")
    if depth != 2:
        return descend(depth - 1)
    try:
        return descend(depth - 1)
    except KeyError as e:
        if e.args[0] == "x":
            raise
        return None
'''

SERVER = '''
import http.server, socketserver, threading, urllib.request, wsgiref.simple_server
import hot_restart

def request(port):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
    except Exception:
        return b"error"

def serve_one(server):
    # one request from a client thread, served by this thread
    client = threading.Thread(target=request, args=(server.server_port,))
    client.start()
    server.handle_request()
    server.server_close()
    client.join()

class Quiet:
    def log_message(self, *args):
        pass

def handled_in(function):
    try:
        return function()
    except Exception:
        return "500 Internal Server Error"

def broken():
    return {}["missing"]
'''

# a class whose method runs under a context manager kept in a private
# attribute (self.__timer, which the class stores mangled)
PRIVATE = '''
        class Timer:
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                pass
        class Store:
            def __init__(self):
                self.__timer = Timer()
            def put(self, value):
                with self.__timer:
                    return check(value)
'''

ROWS = {
    # 1. except clauses that contain a raise
    "conditional re-raise, default given": ('''
        def get(table, key, default=None):
            try:
                return lookup(table, key)
            except KeyError:
                if default is None:
                    raise
                return default
        def main():
            return get({}, "x", 0)
        ''', None),
    "conditional re-raise that re-raises": ('''
        def get(table, key, default=None):
            try:
                return lookup(table, key)
            except KeyError:
                if default is None:
                    raise
                return default
        def main():
            return get({}, "x")
        ''', "get"),
    "retry loop, the caller handles the last failure": ('''
        def connect(attempt):
            raise ConnectionError(attempt)
        def fetch_with_retries(tries):
            for attempt in range(tries):
                try:
                    return connect(attempt)
                except ConnectionError:
                    if attempt == tries - 1:
                        raise
        def main():
            try:
                return fetch_with_retries(3)
            except ConnectionError:
                return None
        ''', None),
    "retry loop, retries exhausted": ('''
        def connect(attempt):
            raise ConnectionError(attempt)
        def fetch_with_retries(tries):
            for attempt in range(tries):
                try:
                    return connect(attempt)
                except ConnectionError:
                    if attempt == tries - 1:
                        raise
        def main():
            return fetch_with_retries(3)
        ''', "fetch_with_retries"),
    "translation caught by the caller": ('''
        def parse(seq):
            try:
                return lookup(seq, 5)
            except IndexError as e:
                raise ParseError("too short") from e
        def main():
            try:
                return parse([])
            except ParseError:
                return None
        ''', None),
    "translation that nobody catches": ('''
        def parse(seq):
            try:
                return lookup(seq, 5)
            except IndexError as e:
                raise ParseError("too short") from e
        def main():
            try:
                return parse([])
            except IndexError:
                return None
        ''', "lookup"),
    "translation to AttributeError under getattr with a default": ('''
        class Config:
            def __init__(self):
                self.values = {}
            def __getattr__(self, name):
                try:
                    return lookup(self.values, name)
                except KeyError:
                    raise AttributeError(name)
        def main():
            return getattr(Config(), "missing", None)
        ''', None),
    "a handler that raises what the caught exception holds": ('''
        class Wrapped(Exception):
            def __init__(self, inner):
                self.inner = inner
        def action(items):
            try:
                return lookup(items, 3)
            except IndexError as e:
                raise Wrapped(e)
        def parse(items):
            try:
                return action(items)
            except Wrapped as wrapped:
                raise wrapped.inner
        def main():
            try:
                return parse([])
            except IndexError:
                return None
        ''', None),
    "a raise in an unrelated branch of the handler": ('''
        def safe(x):
            try:
                return check(x)
            except ValueError:
                if x is None:
                    raise TypeError("no value")
                return 0
        def main():
            return safe(1)
        ''', None),
    "a handler that only logs and re-raises": ('''
        def logged(x):
            try:
                return check(x)
            except ValueError:
                print("failed")
                raise
        def main():
            return logged(1)
        ''', "check"),
    "one exception object raised again, outside the try": ('''
        SHARED = ValueError("raised twice")
        def fail():
            raise SHARED
        def main():
            try:
                fail()
            except ValueError:
                pass
            fail()
        ''', "fail"),
    "through wrapped functions to the one that catches": ('''
        def main():
            try:
                return lookup_through()
            except KeyError:
                return None
        ''', None),
    # the wrapped functions between where it is raised and where it is
    # caught raise it again without asking; not the one that catches, which
    # may raise it again (catcher() and descend() are in the common source)
    "a catcher that raises it again, with wrapped functions between": ('''
        def main():
            return catcher()
        ''', "catcher"),
    "a catcher that raises it again, caught above": ('''
        def main():
            try:
                return catcher()
            except KeyError:
                return None
        ''', None),
    "a recursive catcher that raises it again": ('''
        def main():
            return descend(4)
        ''', "descend"),
    "a recursive catcher that raises it again, caught above": ('''
        def main():
            try:
                return descend(4)
            except KeyError:
                return None
        ''', None),
    # 2. constructs that expect an exception
    "pytest.raises(E, fn, *args)": ('''
        def main():
            pytest.raises(ValueError, check, 1)
        ''', None),
    "pytest.raises(E, fn, *args) with another type": ('''
        def main():
            pytest.raises(KeyError, check, 1)
        ''', "check"),
    "assertRaises(E, fn)": ('''
        def main():
            Case().assertRaises(ValueError, check, 1)
        ''', None),
    "a @contextmanager helper around assertRaises": ('''
        def main():
            case = Case()
            with case.expect(ValueError):
                check(1)
        ''', None),
    "a @contextmanager helper around assertRaises, another type": ('''
        def main():
            case = Case()
            with case.expect(KeyError):
                check(1)
        ''', "check"),
    "a @contextmanager helper with a yield in each branch": ('''
        class Checks(Case):
            @contextlib.contextmanager
            def expect(self, kind=ValueError, message=None):
                if message is not None:
                    with self.assertRaisesRegex(kind, message):
                        yield
                else:
                    with self.assertRaises(kind):
                        yield
        def main():
            case = Checks()
            with case.expect(message="1"):
                check(1)
            with case.expect():
                check(2)
        ''', None),
    "pytest.raises kept in a variable": ('''
        def main():
            expected = pytest.raises(ValueError)
            with expected:
                check(1)
        ''', None),
    "contextlib.suppress": ('''
        def main():
            with contextlib.suppress(KeyError, ValueError):
                check(1)
        ''', None),
    "a @contextmanager that catches at its yield": ('''
        @contextlib.contextmanager
        def tolerant(kind):
            try:
                yield
            except kind:
                pass
        def main():
            with tolerant(ValueError):
                check(1)
        ''', None),
    "a context manager that does not suppress": ('''
        def main():
            with open(__file__):
                check(1)
        ''', "check"),
    "a private context manager of the class, then a caller that handles it": (PRIVATE + '''
        def main():
            try:
                Store().put(1)
            except ValueError:
                return None
        ''', None),
    "a private context manager of the class, and nothing handles it": (PRIVATE + '''
        def main():
            Store().put(1)
        ''', "check"),
    "a handler that skips the test, or re-raises": ('''
        def load(name):
            raise ImportError(name)
        def main():
            try:
                load("gdbm")
            except ImportError:
                if sys.platform:
                    pytest.skip("requires gdbm")
                raise
        ''', None),
    "a handler that re-raises, and skips nothing": ('''
        def load(name):
            raise ImportError(name)
        def main():
            try:
                load("gdbm")
            except ImportError:
                print("no gdbm")
                raise
        ''', "load"),
    # 2b. servers, which report a request's error and serve the next one
    "http.server: a request handler that raises": (SERVER + textwrap.dedent('''
        class Handler(Quiet, http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                broken()
        def main():
            socketserver.TCPServer.handle_error = lambda *args: None
            serve_one(http.server.HTTPServer(("127.0.0.1", 0), Handler))
        '''), "broken"),
    "http.server: a request handler that answers its own error": (SERVER + textwrap.dedent('''
        class Handler(Quiet, http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    broken()
                except KeyError:
                    self.send_error(404)
        def main():
            serve_one(http.server.HTTPServer(("127.0.0.1", 0), Handler))
        '''), None),
    "wsgiref: a WSGI application that raises": (SERVER + textwrap.dedent('''
        class Handler(Quiet, wsgiref.simple_server.WSGIRequestHandler):
            pass
        def app(environ, start_response):
            broken()
        def main():
            wsgiref.simple_server.ServerHandler.log_exception = lambda *args: None
            serve_one(wsgiref.simple_server.make_server("127.0.0.1", 0, app,
                                                        handler_class=Handler))
        '''), "broken"),
    "a built-in catch-all switched off": (SERVER + textwrap.dedent('''
        class Handler(Quiet, http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                broken()
        def main():
            socketserver.TCPServer.handle_error = lambda *args: None
            hot_restart.catch_all(socketserver.BaseServer._handle_request_noblock, False)
            serve_one(http.server.HTTPServer(("127.0.0.1", 0), Handler))
        '''), None),
    "an in-house framework's catch-all, not declared": (SERVER + textwrap.dedent('''
        def main():
            return handled_in(broken)
        '''), None),
    "an in-house framework's catch-all, declared": (SERVER + textwrap.dedent('''
        def main():
            hot_restart.catch_all(handled_in)
            return handled_in(broken)
        '''), "broken"),
    "an in-house framework's catch-all, declared by name": (SERVER + textwrap.dedent('''
        def main():
            hot_restart.catch_all(__name__ + ".handled_in")
            return handled_in(broken)
        '''), "broken"),
    # 2c. task workers
    "a Celery task that fails": ('''
        import celery
        app = celery.Celery("rows", broker="memory://", backend="cache+memory://")
        @app.task
        def total(values):
            return check(sum(values))
        def main():
            return total.apply(([1, 2],))
        ''', "check"),
    "a Celery task that ignores itself": ('''
        import celery
        from celery.exceptions import Ignore
        app = celery.Celery("rows", broker="memory://", backend="cache+memory://")
        def give_up():
            raise Ignore()
        @app.task
        def total(values):
            return give_up()
        def main():
            return total.apply(([1, 2],))
        ''', None),
    "a test skipped with skipTest": ('''
        class Skipping(unittest.TestCase):
            def runTest(self):
                self.skipTest("not on this machine")
        def main():
            Skipping().runTest()
        ''', None),
    "a test skipped with pytest.skip": ('''
        def main():
            pytest.skip("not on this machine")
        ''', None),
    "a test failed with pytest.fail": ('''
        def main():
            pytest.fail("wrong answer")
        ''', "main"),
    # 3. iteration through __getitem__
    "unpacking": ('''
        def main():
            a, b = Seq(2)
            return a, b
        ''', None),
    "unpacking in a for loop": ('''
        def main():
            return [a + b for a, b in [Seq(2), Seq(2)]]
        ''', None),
    "in": ('''
        def main():
            return 5 in Seq(3)
        ''', None),
    "star-unpacking": ('''
        def main():
            first, *rest = Seq(3)
            return [*Seq(2)], rest
        ''', None),
    "a generator expression": ('''
        def main():
            return sum(x for x in Seq(3))
        ''', None),
    "list()": ('''
        def main():
            return list(Seq(3))
        ''', None),
    "an index past the end": ('''
        def main():
            return Seq(2)[5]
        ''', "__getitem__"),
    # one call site that calls a function raising IndexError (it passes)
    # and, the next time, list() over a __getitem__ (the iteration ends):
    # the verdict kept for the site holds for the first only
    "one call site, then list() over __getitem__": ('''
        def main():
            try:
                apply(index_error, Seq(2))
            except IndexError:
                pass
            return apply(list, Seq(2))
        ''', None),
    "one call site, list() over __getitem__, then a function raising": ('''
        def main():
            apply(list, Seq(2))
            try:
                apply(index_error, Seq(2))
            except IndexError:
                pass
            return apply(index_error, Seq(2))
        ''', "index_error"),
    # 4. AttributeError and __getattr__
    "copy asks __getattr__ for special names": ('''
        class Proxy:
            def __getattr__(self, name):
                raise AttributeError(name)
        def main():
            return copy.copy(Proxy())
        ''', None),
    "import * asks a module's __getattr__ for __all__": ('''
        def __getattr__(name):
            raise AttributeError(f"module has no attribute {name}")
        def main():
            exec(f"from {__name__} import *", {})
        ''', None),
    "a module's __getattr__ asked for a missing name": ('''
        def __getattr__(name):
            raise AttributeError(f"module has no attribute {name}")
        def main():
            return sys.modules[__name__].missing
        ''', "__getattr__"),
    "a property falls back to __getattr__": ('''
        class Lazy:
            @property
            def size(self):
                raise AttributeError("not computed")
            def __getattr__(self, name):
                return 0
        def main():
            return Lazy().size
        ''', None),
    "a typo in a method of a class with __getattr__": ('''
        class Proxy:
            def __getattr__(self, name):
                return 0
            def total(self):
                return None.items
        def main():
            return Proxy().total()
        ''', "total"),
    "an AttributeError in an Enum method": ('''
        class Color(enum.Enum):
            RED = 1
            def describe(self):
                return self.value.upper()
        def main():
            return Color.RED.describe()
        ''', "describe"),
    # 5. frames with no source
    "an except clause in code compiled from a string": ('''
        namespace = generated(TEMPLATE % "ValueError", "<template>")
        def main():
            return namespace["run"](check)
        ''', None),
    "code compiled from a string that catches another type": ('''
        namespace = generated(TEMPLATE % "KeyError", "<template>")
        def main():
            return namespace["run"](check)
        ''', "check"),
    # 6. asyncio
    "asyncio.run inside a try": ('''
        async def run():
            return await fetch()
        def main():
            try:
                return asyncio.run(run())
            except ConnectionError:
                return None
        ''', None),
    "a task awaited inside a try": ('''
        async def run():
            task = asyncio.ensure_future(fetch())
            try:
                return await task
            except ConnectionError:
                return None
        def main():
            return asyncio.run(run())
        ''', None),
    "gather with return_exceptions": ('''
        async def run():
            return await asyncio.gather(fetch(), return_exceptions=True)
        def main():
            return asyncio.run(run())
        ''', None),
    "a task that nobody handles": ('''
        async def run():
            return await asyncio.ensure_future(fetch())
        def main():
            return asyncio.run(run())
        ''', "fetch"),
    "a worker's exception, its result asked for inside a try": ('''
        def main():
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                future = pool.submit(slow_check, 1)
                try:
                    return future.result()
                except ValueError:
                    return None
        ''', None),
    "a worker's exception that the future keeps": ('''
        def main():
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                future = pool.submit(check, 1)
            return future.exception()
        ''', None),
    "a worker's exception, its result asked for": ('''
        def main():
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(slow_check, 1).result()
        ''', "slow_check"),
    # 7. a loop over a generator inside a try
    "a for loop over a generator inside a try": ('''
        def main():
            out = []
            try:
                for record in records(["a", "END", "b"]):
                    out.append(record)
            except StopParsing:
                pass
            return out
        ''', None),
    "a comprehension over a generator inside a try": ('''
        def main():
            try:
                return [record for record in records(["a", "END"])]
            except StopParsing:
                return None
        ''', None),
    "a loop over a generator, nothing catches": ('''
        def main():
            return [record for record in records(["a", "END"])]
        ''', "records"),
    # a decorator applied inside a with block that expects its error
    "a decorator applied inside pytest.raises": ('''
        def main():
            with pytest.raises(RuntimeError):
                @group(chain=True)
                def bad():
                    pass
        ''', None),
    "a decorator applied where nothing expects its error": ('''
        def main():
            with contextlib.suppress(KeyError):
                @group(chain=True)
                def bad():
                    pass
        ''', "deco"),
    # a context manager chosen by a conditional expression (click's tests)
    "pytest.raises(E) if E else nullcontext()": ('''
        def attempt(expected):
            with pytest.raises(expected) if expected else contextlib.nullcontext():
                check(1)
        def main():
            attempt(ValueError)
        ''', None),
    "pytest.raises(E) if E else nullcontext(), with no E": ('''
        def attempt(expected):
            with pytest.raises(expected) if expected else contextlib.nullcontext():
                check(1)
        def main():
            attempt(None)
        ''', "check"),
    # template engines: a wrapped helper called from generated code
    "a template's code under its own file name, in pytest.raises": ('''
        import tempfile
        def main():
            with pytest.raises(Exception):
                render_page(tempfile.mkdtemp(), check, ValueError)
        ''', None),
    "a template's code under its own file name, nothing expects it": ('''
        import tempfile
        def main():
            with pytest.raises(KeyError):
                render_page(tempfile.mkdtemp(), check, ValueError)
        ''', "check"),
    # a command-line framework's lazy file, its error recorded by the test runner
    "a lazy file's OSError, an EPIPE filter, a runner that records it": ('''
        def invoke(out):
            try:
                echo(out, "text")
            except Exception as e:  # recorded for the test, as CliRunner.invoke does
                return e
        def main():
            return invoke(LazyFile("/nonexistent/folder/out.txt"))
        ''', None),
    "a lazy file's OSError, an EPIPE filter, nothing records it": ('''
        def main():
            return echo(LazyFile("/nonexistent/folder/out.txt"), "text")
        ''', "echo"),  # where the re-raise under a condition runs (see the first rows)
    "hasattr in a template's code with no source": ('''
        def main():
            namespace = generated(ATTR_PAGE % "hasattr", "main_html")
            return namespace["render_body"]({"ns": Namespace()})
        ''', None),
    "hasattr held in a local, in a template's code with no source": ('''
        def main():
            namespace = generated(LOCAL_ATTR_PAGE, "main_html")
            return namespace["render_body"]({"ns": Namespace()})
        ''', None),
    "getattr without a default in a template's code with no source": ('''
        def main():
            namespace = generated(ATTR_PAGE % "getattr", "main_html")
            return namespace["render_body"]({"ns": Namespace()})
        ''', "__getattr__"),
    "a template's body in try/finally, in pytest.raises": ('''
        def main():
            namespace = generated(FINALLY_PAGE, "main_html")
            with pytest.raises(ValueError):
                namespace["render_body"]({"call": check, "stack": []})
        ''', None),
    "a template's body in try/finally, nothing expects it": ('''
        def main():
            namespace = generated(FINALLY_PAGE, "main_html")
            with pytest.raises(KeyError):
                namespace["render_body"]({"call": check, "stack": []})
        ''', "check"),
    "generated async generators, asyncio.run in pytest.raises(E, fn, *args)": ('''
        def main():
            namespace = generated(ASYNC_PAGE, "<template>")
            render = namespace["render"]({"call": check}, numbers())
            pytest.raises(ValueError, asyncio.run, render)
        ''', None),
    "generated async generators, asyncio.run, another type expected": ('''
        def main():
            namespace = generated(ASYNC_PAGE, "<template>")
            render = namespace["render"]({"call": check}, numbers())
            pytest.raises(KeyError, asyncio.run, render)
        ''', "check"),
}


@pytest.fixture
def run_program(tmp_path, monkeypatch):
    """Import ``source`` as a module, wrap it, call its main(); return the
    names of the functions hot-restart stopped in."""
    stops = []

    def record(session):
        stops.append(session.frame.f_code.co_name)
        return True  # let it propagate, as q does

    monkeypatch.setattr(hr, "_has_terminal", lambda: True)
    monkeypatch.setattr(hr, "_run_session", record)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(threading, "excepthook", lambda args: None)

    def run(name, source):
        module_name = "decision_" + "".join(c if c.isalnum() else "_" for c in name)
        (tmp_path / f"{module_name}.py").write_text(COMMON + textwrap.dedent(source))
        importlib.invalidate_caches()
        module = importlib.import_module(module_name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", hr.HotRestartWarning)
                hr.wrap_module(module)
            # in a thread, whose end is a crash: nothing of the test's catches it
            thread = threading.Thread(target=module.main)
            thread.start()
            thread.join()
        finally:
            sys.modules.pop(module_name, None)
        return stops

    return run


@pytest.mark.parametrize("name", ROWS)
def test_stop_decision(name, run_program):
    source, expected = ROWS[name]
    stops = run_program(name, source)
    assert stops == ([expected] if expected else []), (
        f"{name}: stopped in {stops}, expected " + (f"a stop in {expected}" if expected
                                                    else "no stop"))


def test_a_crash_while_another_thread_imports_the_debugger_still_stops(run_program, monkeypatch):
    # Two threads crash at once: the first to stop imports pdb, and so bdb;
    # the other decides while bdb is in sys.modules but not yet run
    monkeypatch.setitem(sys.modules, "bdb", types.ModuleType("bdb"))
    stops = run_program("while bdb is imported", '''
        def main():
            return check(1)
        ''')
    assert stops == ["check"]
