"""In-process tests of the transformer: positions, free variables, mangling,
and which parameters get a saved copy."""

import ast
import dis
import inspect
import os
import pickle
import sys
import textwrap
import threading
import types
import warnings
from pathlib import Path

import pytest

import hot_restart as hr

SAMPLE = textwrap.dedent('''
    import functools

    def plain(a, b=2, *args, c, d=4, **kw):
        """Docstring stays first."""
        total = a + b
        for x in args:
            total += x
        return total, c, d, kw

    class Base:
        def hello(self):
            return "base"

    class Child(Base):
        __slots__ = ()

        def hello(self):
            return super().hello() + "!"

        @staticmethod
        def static(x):
            return [y * 2 for y in range(x)]

        @property
        def prop(self):
            return self.__secret

        class Inner:
            def deep(self, __x=1):
                return self.__hidden, __x

    def outer(n):
        k = 10
        def middle(m):
            def inner(x):
                nonlocal k
                k += 1
                return x + n + m + k
            return inner
        cache = functools.cache(lambda z: z + n)
        return middle, cache

    async def coro(a):
        await something(a)
        return a

    def shadow(x):
        x = 3
        return [x for x in range(2)]

    def local_class(a):
        class Holder:
            def get(self):
                return a
        return Holder
''')


def _compile(source, instrument):
    tree = ast.parse(source, "sample.py")
    if instrument:
        hr._instrument_tree(tree)
    return hr._function_codes(compile(tree, "sample.py", "exec", dont_inherit=True))


@pytest.fixture(scope="module")
def both():
    return _compile(SAMPLE, False), _compile(SAMPLE, True)


def test_every_function_is_found_at_its_line(both):
    original, instrumented = both
    assert set(original) == set(instrumented)
    assert ("Child.Inner.deep", 30) in original
    assert ("outer.<locals>.middle.<locals>.inner", 36) in original


def _positions(code):
    """Exact positions where recorded (3.11+), else lines."""
    if hasattr(code, "co_positions"):
        return {p for p in code.co_positions() if None not in p}
    return {line for _, _, line in code.co_lines() if line}


def test_positions_are_those_of_the_file(both):
    original, instrumented = both
    lines = SAMPLE.splitlines()
    for key, code in original.items():
        new = instrumented[key]
        assert new.co_filename == "sample.py"
        assert new.co_firstlineno == code.co_firstlineno
        # every position the plain code has, the instrumented code has too
        assert _positions(code) <= _positions(new), key
        # and the instrumented code invents no line outside the definition
        last = max(line for _, _, line in code.co_lines() if line)
        new_lines = {line for _, _, line in new.co_lines() if line}
        assert min(new_lines) >= code.co_firstlineno and max(new_lines) <= last, key
        assert all(lines[line - 1].strip() for line in new_lines), key


def test_free_variables_are_identical(both):
    original, instrumented = both
    for key, code in original.items():
        assert instrumented[key].co_freevars == code.co_freevars, key
        assert instrumented[key].co_cellvars == code.co_cellvars, key
    assert original[("Child.hello", 18)].co_freevars == ("__class__",)
    assert original[("outer.<locals>.middle.<locals>.inner", 36)].co_freevars == ("k", "m", "n")


def test_private_names_are_mangled(both):
    _, instrumented = both
    assert "_Child__secret" in instrumented[("Child.prop", 25)].co_names
    deep = instrumented[("Child.Inner.deep", 30)]
    assert "_Inner__hidden" in deep.co_names
    assert "_Inner__x" in deep.co_varnames


def test_docstring_stays_first(both):
    _, instrumented = both
    assert instrumented[("plain", 4)].co_consts[0] == "Docstring stays first."


def _rebound(source, deep=True):
    tree = ast.parse(textwrap.dedent(source))
    fn = tree.body[0]
    return set(hr._analyze(fn, {}, deep).rebound)


@pytest.mark.parametrize("source, expected", [
    pytest.param("def f(a, b): return a + b", set(), id="none"),
    pytest.param("def f(a, b): a = 1", {"a"}, id="assign"),
    pytest.param("def f(a, b): b += 1", {"b"}, id="augmented"),
    pytest.param("def f(a): del a", {"a"}, id="del"),
    pytest.param("def f(a, b):\n for a in b: pass", {"a"}, id="for"),
    pytest.param("def f(a, b):\n with b as a: pass", {"a"}, id="with"),
    pytest.param("def f(a):\n try: pass\n except E as a: pass", {"a"}, id="except"),
    pytest.param("def f(os, sys):\n import os\n from x import y as sys", {"os", "sys"},
                 id="import"),
    pytest.param("def f(a, b):\n match b:\n  case [a, *rest]: pass", {"a"}, id="match"),
    pytest.param("def f(a, b):\n match b:\n  case {'k': 1, **a}: pass", {"a"},
                 id="match-rest"),
    pytest.param("def f(a, b):\n if (a := b): pass", {"a"}, id="walrus"),
    pytest.param("def f(a, b): return [(a := y) for y in b]", {"a"}, id="walrus-in-comp"),
    pytest.param("def f(a, b): return [a for a in b]", set(), id="comprehension-target"),
    pytest.param("def f(a):\n def g():\n  a = 2\n return g", set(), id="nested-scope"),
    pytest.param("def f(a):\n def a(): pass", {"a"}, id="def-name"),
    pytest.param("def f(*args, **kw):\n args = ()\n kw = {}", {"args", "kw"}, id="star"),
    pytest.param("def f(a, /, b, *, c): c = a", {"c"}, id="kwonly"),
    pytest.param("def f(a):\n a.x = 1\n a[0] = 2", set(), id="attribute-not-rebinding"),
])
def test_rebound_parameters(source, expected):
    assert _rebound(source) == expected
    if ":=" not in source:  # the statements alone tell the same (see _analyze)
        assert _rebound(source, deep=False) == expected


def test_only_rebound_parameters_are_saved():
    codes = _compile("def f(a, b, c):\n    b = a\n    return b + c\n", True)
    saved = [n for n in codes[("f", 1)].co_varnames if n.startswith(hr._SAVED)]
    assert saved == [hr._SAVED + "b"]


def test_instrumented_generators_behave_the_same(tmp_path):
    """Generators count the values they hand out (for a restart to skip
    them); values, send(), throw() and return values still flow as before."""
    path = tmp_path / "gens.py"
    path.write_text(textwrap.dedent('''
        def inner():
            received = yield 1
            try:
                yield received * 10
            except KeyError:
                yield "thrown in"
            return "inner done"

        def outer():
            result = yield from inner()
            yield result
            x = yield
            yield x
    '''))
    namespace = {"__name__": "gens"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    for fn in (namespace["inner"], namespace["outer"]):
        hr.wrap(fn)
        assert hr._PROPAGATE in fn.__code__.co_names
    gen = namespace["outer"]()
    assert next(gen) == 1
    assert gen.send(4) == 40
    assert gen.throw(KeyError) == "thrown in"
    assert next(gen) == "inner done"
    assert next(gen) is None
    assert gen.send(7) == 7
    with pytest.raises(StopIteration):
        next(gen)


def test_restart_passes_the_original_arguments(monkeypatch, tmp_path):
    """The restart path in-process: a mangled keyword-only argument, a rebound
    parameter and *args all reach the second call as they were."""
    path = tmp_path / "mod.py"
    path.write_text(textwrap.dedent('''
        calls = []

        class Box:
            def put(self, a, *rest, __key="k", **extra):
                calls.append((a, rest, __key, extra))
                a = "rebound"
                if len(calls) == 1:
                    raise ValueError("first call fails")
                return a
    '''))
    namespace = {"__name__": "mod"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    hr.wrap_class(namespace["Box"])
    monkeypatch.setattr(hr, "_has_terminal", lambda: True)
    monkeypatch.setattr(hr, "_caught_above", lambda exc, frame: False)  # pytest would catch it
    monkeypatch.setattr(hr, "_run_session", lambda session: False)  # as if "c"
    assert namespace["Box"]().put(1, 2, 3, _Box__key="v", more=4) == "rebound"
    first, second = namespace["calls"]
    assert first == second == (1, (2, 3), "v", {"more": 4})


def test_wrap_keeps_identity_and_reaches_the_innermost(tmp_path):
    path = tmp_path / "deco.py"
    path.write_text(textwrap.dedent('''
        import functools

        @functools.cache
        def cached(x):
            return x

        def plain(x):
            return x
    '''))
    namespace = {"__name__": "deco"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    cached, plain = namespace["cached"], namespace["plain"]
    before = plain.__code__
    assert hr.wrap(cached) is cached and hr.wrap(plain) is plain
    assert plain.__code__ is not before and hr._PROPAGATE in plain.__code__.co_names
    assert hr._PROPAGATE in cached.__wrapped__.__code__.co_names
    assert cached(3) == 3 and plain(4) == 4


def test_changed_file_is_not_used(tmp_path):
    path = tmp_path / "stale.py"
    path.write_text("def f(x):\n    return x + 1\n")
    namespace = {"__name__": "stale"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    path.write_text("def f(x):\n    return x - 7\n")
    before = namespace["f"].__code__
    with pytest.warns(hr.HotRestartWarning, match="has changed since f was loaded"):
        hr.wrap(namespace["f"])
    assert namespace["f"].__code__ is before


def test_off_switch(monkeypatch, tmp_path):
    path = tmp_path / "off.py"
    path.write_text("def f(x):\n    return x\n")
    namespace = {"__name__": "off"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    monkeypatch.setenv("HOT_RESTART", "0")
    before = namespace["f"].__code__
    hr.wrap(namespace["f"])
    assert namespace["f"].__code__ is before


def test_no_wrap_is_skipped(tmp_path):
    path = tmp_path / "skip.py"
    path.write_text(textwrap.dedent('''
        import hot_restart

        class K:
            @hot_restart.no_wrap
            def skipped(self):
                return 1

            def wrapped(self):
                return 2
    '''))
    namespace = {"__name__": "skip"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    K = namespace["K"]
    hr.wrap_class(K)
    assert hr._PROPAGATE not in K.skipped.__code__.co_names
    assert hr._PROPAGATE in K.wrapped.__code__.co_names


def test_no_wrap_on_a_class_keeps_it_out_of_wrap_module(tmp_path, monkeypatch):
    path = tmp_path / "skipmod.py"
    path.write_text(textwrap.dedent('''
        import hot_restart

        @hot_restart.no_wrap
        class Kept:
            def method(self):
                return 1

        def wrapped():
            return 2
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import skipmod
    hr.wrap_module(skipmod)
    assert hr._PROPAGATE not in skipmod.Kept.method.__code__.co_names
    assert hr._PROPAGATE in skipmod.wrapped.__code__.co_names


def test_instrumented_code_is_cached_beside_the_pyc(tmp_path, monkeypatch):
    path = tmp_path / "cachedmod.py"
    path.write_text("def f(x):\n    return x * 2\n")

    def load(name):
        namespace = {"__name__": name}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        return namespace["f"]

    monkeypatch.setattr(hr.sys, "dont_write_bytecode", False)
    first = load("first")
    hr.wrap(first)
    cache = hr._cache_path(str(path))
    assert cache.startswith(str(tmp_path / "__pycache__")) and os.path.exists(cache)

    # a fresh process would find it: no parse, no compile
    hr._registry.versions.pop(str(path))
    monkeypatch.setattr(hr._Registry, "_compile", staticmethod(
        lambda *a: pytest.fail("compiled although the cache was fresh")))
    second = load("second")
    hr.wrap(second)
    assert hr._PROPAGATE in second.__code__.co_names and second(4) == 8

    # an edited file is compiled again
    monkeypatch.undo()
    path.write_text("def f(x):\n    return x * 3\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = load("third")
    hr.wrap(third)
    assert third(4) == 12 and hr._PROPAGATE in third.__code__.co_names



def test_code_transformed_before_instrumenting_is_cached_under_its_name(tmp_path, monkeypatch):
    """pytest's rewritten test modules: cached under the name of the
    transformation (pytest's version and settings), never without one."""
    path = tmp_path / "preparedmod.py"
    path.write_text("def f():\n    return 1\n")
    calls = []

    def doubling(tree, source):  # stands for pytest's assertion rewriting
        calls.append(source)
        tree.body[0].body[0].value.value = 2

    def version(prepare):
        hr._registry.versions.pop(str(path), None)
        code = hr._registry.version(str(path), prepare=prepare).codes[("f", 1)]
        return types.FunctionType(code, {})()

    monkeypatch.setattr(hr.sys, "dont_write_bytecode", False)
    doubling.cache_key = "doubling 1"
    assert version(doubling) == 2 and len(calls) == 1
    assert version(doubling) == 2 and len(calls) == 1  # from the cache
    assert version(None) == 1  # the plain version is another entry
    doubling.cache_key = "doubling 2"
    assert version(doubling) == 2 and len(calls) == 2
    del doubling.cache_key  # unnamed: never cached
    assert version(doubling) == 2 and version(doubling) == 2 and len(calls) == 4


BASE = textwrap.dedent('''
    from __future__ import annotations
    import os

    LIMIT = 3


    def first(a):
        return a + 1


    @decorate
    def second(b=2):
        def inner():
            return b
        return inner


    class Shape:
        size = 1

        def area(self):
            return self.size ** 2

        @property
        def name(self):
            return "shape"

        @name.setter
        def name(self, value):
            pass


    if os.environ.get("X"):
        def first(a):
            return a


    def last():
        return LIMIT
''')


@pytest.mark.parametrize("old, new", [
    pytest.param("return a + 1", "return a + 2", id="body"),
    pytest.param("LIMIT = 3\n", "LIMIT = 3\n\n\ndef added():\n    return 0\n", id="add-function"),
    pytest.param("def last():\n    return LIMIT\n", "", id="remove-function"),
    pytest.param("import os\n", "import os\nimport sys\n\n\n", id="lines-added-above"),
    pytest.param("@decorate\n", "@decorate\n@again\n", id="decorator"),
    pytest.param("    size = 1\n", "    size = 2\n    depth = 3\n", id="class-statement"),
    pytest.param("    def first(a):\n        return a\n",
                 "    def first(a):\n        return a\n    def first(a):\n        return 0\n",
                 id="duplicate-names"),
    pytest.param("def first(a):\n    return a + 1\n", "def first(a):\n    return (a +\n",
                 id="syntax-error"),
])
def test_reparsing_the_changed_region_matches_a_full_parse(old, new):
    """Only the changed statements are parsed again on reload; the outline
    must be what parsing the whole new file gives."""
    assert old in BASE
    before = BASE.splitlines(True)
    after = BASE.replace(old, new, 1).splitlines(True)
    tree = ast.parse(BASE)
    outline = hr._outline(tree.body, before, flags=hr._future_flags(tree))
    state = hr._FileState("x.py", None, outline, before)
    try:
        full_tree = ast.parse("".join(after))
    except SyntaxError:
        with pytest.raises(hr._FullParse):
            hr._reparse(state, after)
        return
    full = hr._outline(full_tree.body, after, flags=hr._future_flags(full_tree))
    outline, nodes, region = hr._reparse(state, after)
    assert outline["defs"] == full["defs"]
    assert list(outline["defs"]) == list(full["defs"])
    assert {k: sorted(v) for k, v in outline["statements"].items()} == \
        {k: sorted(v) for k, v in full["statements"].items()}
    assert outline["tops"] == full["tops"] and outline["flags"] == full["flags"]
    for key, (node, _) in nodes.items():
        assert hr._first_line(node) == full["defs"][key][2]
    # the statements that changed were parsed, at their lines: a reload
    # plans their assignments from the region, without a parse of the file
    parsed = {n.lineno for n in ast.walk(region) if isinstance(n, ast.stmt)}
    running = {crc for entries in state.outline["statements"].values() for crc, _ in entries}
    for entries in outline["statements"].values():
        assert all(line in parsed for crc, line in entries if crc not in running)


def test_one_version_of_a_file_is_parsed_once(tmp_path):
    """Whoever reads a file's tree (finding a definition, planning a
    reload, deciding a stop) shares one parse of each version."""
    path = str(tmp_path / "m.py")
    lines = ["def f():\n", "    return 1\n"]
    tree = hr._read_tree(path, lines)
    assert hr._read_tree(path, list(lines)) is tree
    edited = hr._read_tree(path, ["def f():\n", "    return 2\n"])
    assert edited is not tree and edited.body[0].body[0].value.value == 2


def test_a_decorator_added_above_a_function_is_reparsed_with_it():
    before = BASE.splitlines(True)
    after = BASE.replace("def last():", "@decorate\ndef last():").splitlines(True)
    tree = ast.parse(BASE)
    state = hr._FileState("x.py", None, hr._outline(tree.body, before, flags=0), before)
    outline, nodes, _ = hr._reparse(state, after)
    assert outline["defs"][("last", 0)] == hr._outline(ast.parse("".join(after)).body,
                                                       after)["defs"][("last", 0)]
    assert ("last", 0) in nodes


@pytest.mark.parametrize("name, message", [
    pytest.param("pdb", None, id="pdb"),
    pytest.param("PDB", None, id="any-case"),
    pytest.param("pydevd", "debugpy is not running this program", id="debugpy-not-running"),
    pytest.param("nosuch", "there is no debugger called 'nosuch'", id="unknown"),
])
def test_choosing_a_debugger(name, message, monkeypatch, capsys):
    monkeypatch.delitem(hr.sys.modules, "pydevd", raising=False)
    monkeypatch.setattr(hr, "DEBUGGER", name)
    debugger = hr._Debuggers().get()
    assert type(debugger).__mro__[1] is hr._PdbAdapter
    said = capsys.readouterr().err
    assert (said == "") if message is None else (message in said)


def test_an_adapter_that_is_not_installed_falls_back_to_pdb(monkeypatch, capsys):
    class Missing(hr._Adapter):
        name = "missing"
        pip_name = "missing-debugger"

        @classmethod
        def make(cls):
            raise ImportError("No module named 'missing'")

    monkeypatch.setitem(hr._ADAPTERS, "missing", Missing)
    monkeypatch.setattr(hr, "DEBUGGER", "missing")
    debugger = hr._Debuggers().get()
    assert isinstance(debugger, hr._PdbAdapter)
    assert capsys.readouterr().err == (
        "hot-restart: missing is not installed (pip install missing-debugger); using pdb\n")


def test_the_ipdb_adapter_is_the_same_session_on_ipythons_debugger():
    from IPython.terminal.debugger import TerminalPdb

    adapter, said = hr._choose_debugger("ipdb")
    assert said is None and adapter is hr._IpdbAdapter
    debugger = adapter.make()
    # IPython's debugger makes an event loop for its prompt and keeps it
    # (hot-restart keeps one debugger per process); this test drops it
    loop = getattr(debugger, "pt_loop", None)
    if loop is not None:
        loop.close()
    assert isinstance(debugger, TerminalPdb) and isinstance(debugger, hr._PdbAdapter)
    assert type(debugger).do_continue is hr._PdbAdapter.do_continue


def test_the_added_commands_help_reads_like_pdbs(capsys):
    """``help retry`` is laid out as pdb lays out its own commands' help."""
    debugger = hr._PdbAdapter.make()

    def shown(command):
        debugger.do_help(command)
        return [line for line in capsys.readouterr().out.splitlines() if line.strip()]

    ours, pdbs = shown("retry"), shown("break")
    assert ours[0] == pdbs[0].replace("b(reak) [ ([filename:]lineno | function) "
                                      "[, condition] ]", "retry")
    assert ours[1].lstrip().startswith("Restart the selected frame")
    indent = [len(line) - len(line.lstrip()) for line in (ours[1], pdbs[1])]
    assert indent[0] == indent[1]


def test_with_no_name_the_debugger_is_chosen(monkeypatch):
    monkeypatch.delitem(hr.sys.modules, "pudb", raising=False)
    monkeypatch.delitem(hr.sys.modules, "pydevd", raising=False)
    monkeypatch.setattr(hr.importlib.util, "find_spec",
                        lambda name: object() if name == "ipdb" else None)
    assert hr._detect_debugger() == "ipdb"
    monkeypatch.setattr(hr.importlib.util, "find_spec", lambda name: None)
    assert hr._detect_debugger() == "pdb"
    assert hr._choose_debugger("") == (hr._PdbAdapter, None)
    monkeypatch.setitem(hr.sys.modules, "pudb", object())
    assert hr._detect_debugger() == "pudb"
    monkeypatch.setitem(hr.sys.modules, "pydevd", object())
    assert hr._detect_debugger() == "pydevd"


def test_under_debugpy_stops_need_an_attached_client_not_a_terminal(monkeypatch):
    connected = []
    monkeypatch.setitem(hr.sys.modules, "pydevd", object())
    monkeypatch.setitem(hr.sys.modules, "debugpy", types.SimpleNamespace(
        is_client_connected=lambda: bool(connected)))
    monkeypatch.setattr(hr, "DEBUGGER", "")
    assert hr._debuggers.remote() and not hr._debuggers.attached()
    connected.append(True)
    assert hr._debuggers.attached()
    assert not hr._debuggers.traces()  # debugpy's tracing is left alone
    monkeypatch.setattr(hr, "DEBUGGER", "pdb")  # asked for pdb: a terminal it is
    assert not hr._debuggers.remote() and not hr._debuggers.attached()


def test_generated_methods_and_lambdas_are_left_out_silently(tmp_path, monkeypatch):
    """dataclasses, namedtuple and NamedTuple generate methods with no source
    file of their own; lambdas have no statement to put in a handler.  Under
    ``filterwarnings = error`` a warning about them would stop a test run."""
    (tmp_path / "generated.py").write_text(textwrap.dedent('''
        import collections
        import dataclasses
        import typing

        square = lambda x: x * x

        @dataclasses.dataclass
        class Point:
            x: int
            y: int = 0
            scale = lambda self, k: Point(self.x * k, self.y * k)

            def norm(self):
                return abs(self.x) + abs(self.y)

        Pair = collections.namedtuple("Pair", "a b")

        class Named(typing.NamedTuple):
            a: int

            def double(self):
                return self.a * 2
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import generated
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hr.wrap_module(generated)
    assert hr._PROPAGATE in generated.Point.norm.__code__.co_names
    assert hr._PROPAGATE in generated.Named.double.__code__.co_names
    assert generated.Point(1, 2) == generated.Point(1, 2)
    assert generated.Pair(1, 2).a == 1


def test_stubs_written_after_the_start_are_wrapped(tmp_path, monkeypatch):
    """A method that is only a docstring and pass (or starts with pass) is
    wrapped like any other, even in a file written after the program
    started, where each function is checked against its file."""
    (tmp_path / "stubs.py").write_text(textwrap.dedent('''
        class Service:
            def start(self):
                """Start the service."""
                pass

            def stop(self):
                pass
                return 1


        def later():
            """Not yet."""
            pass
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import stubs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hr.wrap_module(stubs)
    for fn in (stubs.Service.start, stubs.Service.stop, stubs.later):
        assert hr._PROPAGATE in fn.__code__.co_names, fn
    assert stubs.Service().stop() == 1


@pytest.mark.parametrize("source, reads, kept", [
    # read, written through nonlocal (the statement goes), deleted
    ("def f():\n    nonlocal y\n    y = y + 1\n    return y\n", 3, None),
    ("def f():\n    nonlocal x, y\n    x = y\n", 1, ["x"]),
    # a nested function reads it through the holder too...
    ("def f():\n    def g():\n        return y\n    return g()\n", 1, None),
    # ...unless it binds its own y
    ("def f():\n    def g(y):\n        return y\n    return g(1)\n", 0, None),
    ("def f():\n    def g():\n        y = 2\n        return y\n    return g()\n", 0, None),
    # a comprehension's own y is not the enclosing one
    ("def f():\n    return [y for y in range(3)]\n", 0, None),
    ("def f():\n    return [x + y for x in range(3)]\n", 1, None),
])
def test_free_variables_read_through_holders(source, reads, kept):
    """The rewrite that lets a closure made before a fix read a variable of
    the enclosing function that it does not have a cell for."""
    tree = ast.parse(source)
    fn = tree.body[0]
    scopes = {}
    hr._analyze(fn, scopes)
    hr._read_through(fn, ["y"], scopes)
    holder = hr._free_placeholder("y")
    through = [n for n in ast.walk(fn) if isinstance(n, ast.Attribute)
               and isinstance(n.value, ast.Constant) and n.value.value == holder]
    nonlocals = [n.names for n in ast.walk(fn) if isinstance(n, ast.Nonlocal)]
    assert len(through) == reads
    assert nonlocals == ([kept] if kept else [])


def test_code_reading_through_a_holder_runs_against_its_frame():
    """Bound to a frame, the holder reads the variable's current value, and
    ``nonlocal`` writes reach the frame."""
    tree = ast.parse("def bump():\n    nonlocal count\n    count += 1\n    return count\n")
    fn = tree.body[0]
    scopes = {}
    hr._analyze(fn, scopes)
    hr._read_through(fn, ["count"], scopes)
    module = compile(tree, "<test>", "exec")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))

    def enclosing():
        count = 10
        frame = sys._getframe()
        bump = types.FunctionType(hr._bind_free(code, {"count": hr._Free(
            "count", "test", frame=frame)}), {})
        first = bump()
        count += 5
        return first, bump(), count

    assert enclosing() == (11, 17, 17)
    gone = types.FunctionType(hr._bind_free(code, {"count": hr._Free(
        "count", None, missing="count is gone")}), {})
    with pytest.raises(NameError, match="count is gone"):
        gone()


# Generators that fail once, at the point named ``boom("...")``, and are
# restarted with the same code: the consumer must get every value exactly
# once, in order, as in a run that never failed.
RESTARTED_GENERATORS = [
    pytest.param('''
        def gen():
            yield 1
            yield 2
            boom("after two")
            yield 3
    ''', id="statements"),
    pytest.param('''
        def gen():
            yield 1
            yield boom("computing the second", 2)
            yield 3
    ''', id="failing-while-computing-a-value"),
    pytest.param('''
        def gen():
            for i in range(5):
                if i == 3:
                    boom("in the loop body")
                yield i
    ''', id="loop-body"),
    pytest.param('''
        def gen():
            for i in range(5):
                yield boom("a value in a loop", i) if i == 3 else i
    ''', id="loop-value"),
    pytest.param('''
        def gen():
            yield "first"
            i = 0
            while i < 4:
                yield i
                i += 1
            yield boom("after the loop", "last")
    ''', id="statement-then-loop-then-statement"),
    pytest.param('''
        def gen():
            yield "start"
            yield from [1, 2]
            boom("after a yield from")
            yield "end"
    ''', id="after-a-finished-yield-from"),
    pytest.param('''
        def sub(n):
            yield from range(n)
            yield "sub end"

        def gen():
            yield from sub(2)
            yield from sub(3)
            boom("after two subs")
            yield "end"
    ''', id="after-two-sub-generators"),
    pytest.param('''
        def sub(n):
            yield "sub start"
            yield boom("in a sub-generator", n)

        def gen():
            yield "start"
            yield from sub(1)
            yield "end"
    ''', id="in-a-sub-generator"),
    pytest.param('''
        def gen():
            x = yield 1
            print((yield 2), x)
            y = [(yield 3), (yield 4)]
            boom("after expression yields")
            yield y
    ''', id="yields-in-expressions"),
    pytest.param('''
        def gen(flag=False):
            if flag:
                yield "not taken"
            yield 1
            if not flag:
                yield from [2, 3]
            yield boom("after branches", 4)
    ''', id="branches"),
    pytest.param('''
        def gen():
            try:
                yield 1
                boom("before finally")
            finally:
                yield 2
            yield 3
    ''', id="finally"),
    pytest.param('''
        class Tree:
            def __init__(self, left, value, right):
                self.left, self.value, self.right = left, value, right

            def __iter__(self):
                if self.left:
                    yield from self.left
                yield self.value if self.value != 5 else boom("deep in the tree", 5)
                if self.right:
                    yield from self.right

        def build(values):
            if not values:
                return None
            i = len(values) // 2
            return Tree(build(values[:i]), values[i], build(values[i + 1:]))

        def gen():
            yield from build(list(range(10)))
    ''', id="recursive-tree"),
    pytest.param('''
        import asyncio

        async def agen():
            yield 1
            await asyncio.sleep(0)
            yield await asyncio.sleep(0, boom("an awaited value", 2))
            async for x in asub():
                yield x

        async def asub():
            yield 3
            boom("in an async sub-generator")
            yield 4

        def gen():
            async def collect():
                return [x async for x in agen()]
            return iter(asyncio.run(collect()))
    ''', id="async-generators"),
]


def _module_from(path, source, monkeypatch, **names):
    """Run ``source`` as the module of ``path`` (with ``names`` in it first):
    its namespace, the module registered in ``sys.modules`` for the test."""
    path.write_text(source)
    namespace = {"__name__": path.stem, **names}
    exec(compile(source, str(path), "exec"), namespace)
    module = types.ModuleType(path.stem)
    module.__dict__.update(namespace)
    module.__file__ = str(path)
    monkeypatch.setitem(sys.modules, path.stem, module)
    return namespace


def _wrapped_with_a_terminal(namespace, monkeypatch):
    """Wrap the module, and stop where nothing of the program catches (the
    test itself would)."""
    hr.wrap_module(sys.modules[namespace["__name__"]])
    monkeypatch.setattr(hr, "_has_terminal", lambda: True)
    monkeypatch.setattr(hr, "_caught_above", lambda exc, frame: False)


@pytest.mark.parametrize("source", RESTARTED_GENERATORS)
def test_a_restarted_generator_hands_out_each_value_once(source, monkeypatch, tmp_path):
    path = tmp_path / "gens.py"
    failed, armed = [], []

    def boom(tag, value=None):  # not in the wrapped module: the generator fails
        if armed and tag not in failed:
            failed.append(tag)
            raise ValueError(tag)
        return value

    namespace = _module_from(path, textwrap.dedent(source), monkeypatch, boom=boom)
    expected = list(namespace["gen"]())  # boom() is not armed: no failure
    armed.append(True)
    _wrapped_with_a_terminal(namespace, monkeypatch)
    monkeypatch.setattr(hr, "_run_session", lambda session: False)  # as if "c"
    assert list(namespace["gen"]()) == expected
    assert failed, "the generator did not fail, so no restart was tested"


def test_a_generator_that_fails_after_its_last_yield_runs_only_what_follows(
        monkeypatch, tmp_path):
    """A yield fixture's teardown failing: continue runs what follows the
    yield again, with the generator's variables, from the edited code; the
    code before the yield (the set-up) does not run again."""
    path = tmp_path / "fixtures.py"
    source = textwrap.dedent('''
        events = []

        def connection(name):
            conn = {"name": name, "open": True}
            events.append("connect " + name)
            try:
                yield conn
                events.append("commit")
            finally:
                events.append("close " + conn["nmae"])
            events.append("done")
    ''')
    namespace = _module_from(path, source, monkeypatch)
    _wrapped_with_a_terminal(namespace, monkeypatch)

    def fix_and_continue(session):  # the user fixes the typo, then types c
        path.write_text(source.replace('conn["nmae"]', 'conn["name"]'))
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
        hr.reload()
        return False
    monkeypatch.setattr(hr, "_run_session", fix_and_continue)
    generator = namespace["connection"]("db")
    assert next(generator) == {"name": "db", "open": True}
    with pytest.raises(StopIteration):
        next(generator)
    assert namespace["events"] == ["connect db", "commit", "commit", "close db", "done"]


def test_the_command_line_takes_catch_alls():
    options, script, module, args = hr._parse_command_line(
        ["--catch-all", "shop.server.handle", "--no-catch-all=socketserver.BaseServer."
         "_handle_request_noblock", "app.py", "--port", "1"])
    assert options["catch-all"] == ["shop.server.handle"]
    assert options["no-catch-all"] == ["socketserver.BaseServer._handle_request_noblock"]
    assert (script, module, args) == ("app.py", None, ["--port", "1"])


@pytest.mark.parametrize("script, module, args, warned", [
    pytest.param(None, "flask", ["--app", "app", "run", "--debug"], True, id="flask-debug"),
    pytest.param(None, "flask", ["--app", "app", "run"], False, id="flask"),
    pytest.param(None, "flask", ["run", "--debug", "--no-reload"], False, id="flask-no-reload"),
    pytest.param(None, "uvicorn", ["app:app", "--reload"], True, id="uvicorn-reload"),
    pytest.param(None, "uvicorn", ["app:app"], False, id="uvicorn"),
    pytest.param("manage.py", None, ["runserver"], True, id="runserver"),
    pytest.param("manage.py", None, ["runserver", "--noreload"], False, id="runserver-noreload"),
    pytest.param("manage.py", None, ["migrate"], False, id="not-a-server"),
])
def test_a_development_servers_reloader_is_pointed_out(script, module, args, warned):
    notice = hr._reloader_notice(script, module, args)
    assert bool(notice) == warned, notice
    if notice:
        assert "child process" in notice and ("leave out" in notice or "add" in notice)


SPECIALIZED = '''
def add(a, b):
    return a + b


class Counter:
    def bump(self, n):
        return n + 1


def loop(n):
    total, counter = 0, Counter()
    for i in range(n):
        total = counter.bump(add(total, i))
    return total
'''


def _own_module(path, source, monkeypatch):
    """Run ``source`` as the module of ``path``, in the module's own
    namespace (which it returns), as an import does."""
    path.write_text(source)
    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    monkeypatch.setitem(sys.modules, path.stem, module)
    exec(compile(source, str(path), "exec"), vars(module))
    return vars(module)


def _call_sites(fn):
    """The instructions of ``fn``'s body that call, as the interpreter has
    specialized them (not the handler's, on the def line, which never ran)."""
    return [ins.opname for ins in dis.get_instructions(fn, adaptive=True)
            if ins.opname.startswith("CALL")
            and ins.positions.lineno != fn.__code__.co_firstlineno]


def test_wrap_module_keeps_calls_to_its_functions_specialized(tmp_path, monkeypatch):
    """On 3.13 and later a function whose ``__code__`` was assigned is never
    specialized where it is called (CPython issue 117045): a function that
    only its module holds is replaced by one the interpreter makes as a def
    does, and its call sites specialize as in the plain program."""
    plain = _own_module(tmp_path / "plain_calls.py", SPECIALIZED, monkeypatch)
    wrapped = _own_module(tmp_path / "wrapped_calls.py", SPECIALIZED, monkeypatch)
    hr.wrap_module(sys.modules["wrapped_calls"])
    assert hr._PROPAGATE in wrapped["add"].__code__.co_names
    assert hr._PROPAGATE in wrapped["Counter"].bump.__code__.co_names
    for namespace in (plain, wrapped):
        for _ in range(20):
            assert namespace["loop"](200) == 20100
    assert _call_sites(wrapped["loop"]) == _call_sites(plain["loop"])
    assert any(name.startswith("CALL_PY") for name in _call_sites(plain["loop"]))


def test_a_replaced_function_is_the_same_in_all_but_identity(tmp_path, monkeypatch):
    """What wrap_module puts in place of a function has all it had; one that
    something else holds too (an alias, a decorator) keeps its identity."""
    namespace = _own_module(tmp_path / "kept.py", textwrap.dedent('''
        import functools

        class Base:
            def hello(self, x, y=2, *, z=3):
                "Say hello."
                return ("base", x, y, z)

        class Child(Base):
            def hello(self, x, y=5, *, z=7):
                return ("child", super().hello(x, y, z=z))

        def typed(a: int, b: "str" = "s", *args, c: float = 1.0) -> bool:
            return (a, b, args, c)

        typed.marker = "kept"

        def aliased():
            return 1 / 0

        alias = aliased

        @functools.cache
        def cached(x):
            return x * 2
    '''), monkeypatch)
    before = {name: id(value) for name, value in namespace.items()}
    hr.wrap_module(sys.modules["kept"])
    typed = namespace["typed"]
    assert id(typed) != before["typed"]
    assert hr._PROPAGATE in typed.__code__.co_names
    assert typed(1) == (1, "s", (), 1.0)
    signature = "(a: int, b: 'str' = 's', *args, c: float = 1.0) -> bool"
    assert str(inspect.signature(typed)) == signature
    assert typed.__annotations__ == {"a": int, "b": "str", "c": float, "return": bool}
    assert (typed.__defaults__, typed.__kwdefaults__) == (("s",), {"c": 1.0})
    assert (typed.marker, typed.__qualname__, typed.__module__) == ("kept", "typed", "kept")
    child = namespace["Child"]()
    assert child.hello(1) == ("child", ("base", 1, 5, 7))
    assert namespace["Base"].hello.__doc__ == "Say hello."
    assert hr._PROPAGATE in namespace["Child"].hello.__code__.co_names
    # held twice, or inside a decorator: the same object, instrumented
    assert namespace["alias"] is namespace["aliased"]
    assert id(namespace["aliased"]) == before["aliased"]
    assert hr._PROPAGATE in namespace["aliased"].__code__.co_names
    assert id(namespace["cached"]) == before["cached"]
    assert hr._PROPAGATE in namespace["cached"].__wrapped__.__code__.co_names


def test_a_replaced_closure_keeps_its_free_variables_whatever_their_names(tmp_path,
                                                                         monkeypatch):
    """A decorator's closure (``functools.update_wrapper`` around ``f``, as
    jinja2's compiler does) replaced in its class reads the function it
    wraps, not itself, whatever its free variables are called."""
    namespace = _own_module(tmp_path / "decorated.py", textwrap.dedent('''
        from functools import update_wrapper

        def deco(f):
            outer = make = "kept"
            def new_func(self, node):
                return f(self, node) + (outer, make)
            return update_wrapper(new_func, f)

        class Gen:
            def visit(self, node):
                return getattr(self, "visit_" + node)(node)

            @deco
            def visit_a(self, node):
                return ("a",)

            @deco
            def visit_b(self, node):
                return ("b",) + self.visit("a")
    '''), monkeypatch)
    hr.wrap_module(sys.modules["decorated"])
    gen = namespace["Gen"]
    assert hr._PROPAGATE in gen.visit_b.__code__.co_names
    assert gen.visit_b.__closure__[0].cell_contents is not gen.visit_b
    assert gen().visit("b") == ("b", "a", "kept", "kept", "kept", "kept")


def test_a_bug_of_ours_while_deciding_lets_the_exception_go_on_unchanged(tmp_path, monkeypatch,
                                                                         capsys):
    """An internal error in the stop decision (the fast path of a handled
    exception included) never replaces the program's own exception."""
    namespace = _own_module(tmp_path / "decided.py", textwrap.dedent('''
        def fail():
            raise KeyError("the program's own")
    '''), monkeypatch)
    hr.wrap_module(sys.modules["decided"])

    def broken(exc, frame):
        raise AttributeError("a bug of ours")

    monkeypatch.setattr(hr, "_known_to_be_caught", broken)
    with pytest.raises(KeyError, match="the program's own"):
        namespace["fail"]()
    assert "internal error AttributeError: a bug of ours" in capsys.readouterr().err


def test_a_reload_that_changes_annotations_changes_what_the_function_does(tmp_path,
                                                                         monkeypatch):
    """PEP 649 (3.14+) computes annotations in a function of their own: on
    every version, a reload puts in the new body, and the annotations stay
    those the definition made (frameworks read them when the class or the
    function was made)."""
    path = tmp_path / "annotated.py"
    source = textwrap.dedent('''
        import dataclasses

        @dataclasses.dataclass
        class Price:
            amount: int

            def times(self, k: int) -> int:
                return self.amount * k

        def label(a: int) -> str:
            return str(a)
    ''')
    namespace = _own_module(path, source, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hr.wrap_module(sys.modules["annotated"])
    assert namespace["Price"](2).times(3) == 6
    path.write_text(source.replace("k: int) -> int:\n        return self.amount * k",
                                   "k: float) -> float:\n        return self.amount * k + 1"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    hr.reload()
    assert namespace["Price"](2).times(3) == 7
    assert namespace["Price"].times.__annotations__ == {"k": int, "return": int}
    assert namespace["Price"].__annotations__ == {"amount": int}
    assert namespace["label"].__annotations__ == {"a": int, "return": str}


def test_code_objects_a_program_keeps_lead_to_the_new_code(tmp_path, monkeypatch):
    """A program that keeps code objects in a set, or as a dict's keys, and
    asks whether a frame runs one of them (jinja2 hides the frames of its
    ``@internalcode`` functions from the tracebacks it rewrites) finds the
    instrumented code there, and the reloaded code after a fix."""
    path = tmp_path / "internal.py"
    source = textwrap.dedent('''
        import sys
        internal_code = set()

        def internalcode(f):
            internal_code.add(f.__code__)
            return f

        @internalcode
        def helper():
            return sys._getframe().f_code in internal_code, "first"

        names = {helper.__code__: ["helper"]}
    ''')
    namespace = _own_module(path, source, monkeypatch)
    hr.wrap_module(sys.modules["internal"])
    helper = namespace["helper"]
    assert hr._PROPAGATE in helper.__code__.co_names
    assert helper() == (True, "first")
    assert namespace["names"][helper.__code__] == ["helper"]
    path.write_text(source.replace('"first"', '"fixed"'))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    hr.reload()
    assert helper() == (True, "fixed")
    assert namespace["names"][helper.__code__] == ["helper"]


def test_a_file_that_cannot_be_read_says_why(tmp_path):
    """An edit saved in another encoding, an emptied file, a deleted one: the
    reload says which, and what to do (not only that it cannot be read)."""
    path = tmp_path / "plain.py"
    path.write_bytes("def f():\n    return 'caf\u00e9'\n".encode("latin-1"))
    said = hr._unreadable(str(path))
    assert "line 2 is not utf-8" in said and "save the file as UTF-8" in said, said
    path.write_text("")
    assert "is empty now" in hr._unreadable(str(path))
    path.unlink()
    assert "is gone (deleted or moved)" in hr._unreadable(str(path))


def test_help_into_a_closed_pipe_ends_quietly():
    """``python -m hot_restart --help | head -1``: the reader goes away."""
    import subprocess
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "hot_restart", "--help"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=30,
                              env={**os.environ, "PYTHONPATH": str(Path(hr.__file__).parent)})
    finally:
        os.close(write)
    assert done.returncode == 0
    assert done.stderr == ""


def test_a_class_that_refuses_new_attributes_keeps_its_methods(tmp_path, monkeypatch):
    """A metaclass that forbids setting attributes: wrap_module instruments
    the methods in place (their code assigned) instead of replacing them."""
    namespace = _own_module(tmp_path / "frozen.py", textwrap.dedent('''
        class Frozen(type):
            def __setattr__(cls, name, value):
                raise TypeError("frozen")

        class Account(metaclass=Frozen):
            def balance(self):
                return 1
    '''), monkeypatch)
    before = id(vars(namespace["Account"])["balance"])
    hr.wrap_module(sys.modules["frozen"])
    method = vars(namespace["Account"])["balance"]
    assert id(method) == before
    assert hr._PROPAGATE in method.__code__.co_names
    assert namespace["Account"]().balance() == 1


def test_a_replaced_function_keeps_postponed_and_assigned_annotations(tmp_path, monkeypatch):
    """``from __future__ import annotations`` (strings), and annotations a
    decorator assigned (3.14+ then has no ``__annotate__`` for them): the
    function put in its place keeps them."""
    namespace = _own_module(tmp_path / "postponed.py", textwrap.dedent('''
        from __future__ import annotations

        def typed(a: int, b: Missing = None) -> bool:
            return a

        def assigned(a):
            return a

        assigned.__annotations__ = {"a": "given"}
    '''), monkeypatch)
    hr.wrap_module(sys.modules["postponed"])
    assert hr._PROPAGATE in namespace["typed"].__code__.co_names
    assert namespace["typed"].__annotations__ == {"a": "int", "b": "Missing", "return": "bool"}
    assert hr._PROPAGATE in namespace["assigned"].__code__.co_names
    assert namespace["assigned"].__annotations__ == {"a": "given"}


def test_a_handled_exception_is_decided_once_however_deep(tmp_path, monkeypatch):
    """The first wrapped function a handled exception leaves finds who
    catches it and tells the others on its way (a parser raises through
    many): they raise it again without asking.  Nothing of it is kept once
    it is caught."""
    namespace = _own_module(tmp_path / "deep.py", textwrap.dedent('''
        def descend(table, depth):
            if depth == 0:
                return table["missing"]
            return descend(table, depth - 1)

        def parse(n):
            failed = 0
            for _ in range(n):
                try:
                    descend({}, 8)
                except KeyError:
                    failed += 1
            return failed
    '''), monkeypatch)
    hr.wrap_module(sys.modules["deep"])
    monkeypatch.setattr(hr, "_has_terminal", lambda: True)
    asked = []
    known = hr._known_to_be_caught

    def counting(exc, frame):
        asked.append(frame.f_code.co_name)
        return known(exc, frame)

    monkeypatch.setattr(hr, "_known_to_be_caught", counting)
    assert namespace["parse"](3) == 3
    assert asked == ["descend"] * 3  # not 9 times each
    # the last one's letters were all taken, and its exception let go
    assert (hr._letters.left, hr._letters.exc) == (0, None)


#: a function that raises through one caller, to two loops that catch and
#: one caller that does not
_CHAINS = textwrap.dedent('''
    def lookup(table):
        return table["missing"]

    def parse_item(table):
        return lookup(table)

    def first(n):
        failed = 0
        for _ in range(n):
            try:
                parse_item({})
            except KeyError:
                failed += 1
        return failed

    def second(n):
        failed = 0
        for _ in range(n):
            try:
                parse_item({})
            except LookupError:
                failed += 1
        return failed

    def unguarded():
        try:
            return parse_item({})
        except ValueError:
            return None
''')


def _stopping_module(tmp_path, monkeypatch, name, source):
    """The module ``name`` of ``source``, wrapped, and the names of the
    functions that stopped (each stop lets the exception propagate, as q does)."""
    namespace = _own_module(tmp_path / f"{name}.py", source, monkeypatch)
    hr.wrap_module(sys.modules[name])
    monkeypatch.setattr(hr, "_has_terminal", lambda: True)
    stops = []
    monkeypatch.setattr(hr, "_run_session",
                        lambda session: stops.append(session.frame.f_code.co_name) or True)
    # in a thread, whose end is a crash: nothing of the test's catches it
    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    return namespace, stops


def _in_a_thread(fn):
    thread = threading.Thread(target=fn)
    thread.start()
    thread.join()


def test_a_chain_of_callers_kept_decides_only_for_the_same_callers(tmp_path, monkeypatch):
    """The callers through which an exception was caught are kept for the
    next one from the same function, and checked frame by frame: the same
    function called from a caller that does not catch still stops."""
    namespace, stops = _stopping_module(tmp_path, monkeypatch, "chains", _CHAINS)
    assert namespace["first"](3) == 3
    lookup = namespace["lookup"].__code__
    assert hr._caches.chains.get((id(lookup), KeyError))  # kept: the next one is checked
    _in_a_thread(namespace["unguarded"])
    assert stops == ["lookup"]
    assert namespace["first"](2) == 2
    assert stops == ["lookup"]


def test_chains_that_part_after_a_shared_caller_are_all_decided_from_the_tree(
        tmp_path, monkeypatch):
    """Two loops catch what one function raises through the same caller: both
    chains are kept in one tree, the caller they share checked once, and
    each later exception is decided from it with no lookup; a third caller
    that does not catch still stops."""
    namespace, stops = _stopping_module(tmp_path, monkeypatch, "chains", _CHAINS)
    assert namespace["first"](2) == 2 and namespace["second"](2) == 2
    walks, walk = [], hr._walk_to_catcher
    monkeypatch.setattr(hr, "_walk_to_catcher",
                        lambda exc, frame: walks.append(exc) or walk(exc, frame))
    assert namespace["first"](3) == 3 and namespace["second"](3) == 3
    assert walks == []  # every one decided from the kept tree
    _, callers = hr._caches.chains.get((id(namespace["lookup"].__code__), KeyError))
    (shared,) = callers  # parse_item, once
    assert shared[0] is namespace["parse_item"].__code__ and shared[2]
    catchers = {code.co_name for code, _, _, above in shared[3] if above is None}
    assert catchers == {"first", "second"}
    _in_a_thread(namespace["unguarded"])
    assert stops == ["lookup"]


#: one exception object raised again and again, as a parser's cache of
#: failures does, through two wrapped callers
_STORED = textwrap.dedent('''
    class Stored(Exception):
        pass

    STORED = Stored("kept")

    def fail():
        raise STORED

    def step():
        return fail()

    def walk():
        return step()

    def handled(n):
        for _ in range(n):
            try:
                walk()
            except Stored:
                pass

    def unguarded():
        walk()
''')


def test_an_exception_raised_again_where_nothing_catches_it_stops(tmp_path, monkeypatch):
    """The letter an exception known to be caught leaves for the handlers on
    its way is taken to the last one: the same object raised again from the
    same place, where nothing catches it, stops where it was raised."""
    namespace, stops = _stopping_module(tmp_path, monkeypatch, "stored", _STORED)
    namespace["handled"](3)
    assert stops == [] and (hr._letters.left, hr._letters.exc) == (0, None)
    _in_a_thread(namespace["unguarded"])
    assert stops == ["fail"]


def test_a_frame_passes_its_own_handler_only_from_the_body_it_guards(tmp_path, monkeypatch):
    """A wrapped function's frame that runs its handler, or the restart
    after it, passes no handler of its own: no letter is counted for it."""
    namespace = _own_module(tmp_path / "stored.py", _STORED, monkeypatch)
    hr.wrap_module(sys.modules["stored"])
    code = namespace["step"].__code__
    instructions = list(dis.get_instructions(code))

    def call_after(name):
        loaded = next(i for i, ins in enumerate(instructions) if ins.argval == name)
        return next(ins.offset for ins in instructions[loaded:] if ins.opname == "CALL")

    assert hr._passes_own_handler(code, call_after("fail"))
    assert not hr._passes_own_handler(code, call_after(hr._AGAIN))
    assert not hr._passes_own_handler(_plain_code.__code__, 0)


def _plain_code():
    return None


#: handled exceptions through two wrapped callers, many at once in threads;
#: between the two, a clean-up where another thread can take its turn
_BUSY = textwrap.dedent('''
    class Miss(Exception):
        pass

    def leaf(i):
        if i % 3:
            raise Miss(i)
        return i

    def tick():
        for _ in range(3):  # a loop: where threads take turns
            pass

    def mid(i):
        try:
            return leaf(i)
        finally:
            tick()

    def top(i):
        return mid(i)

    def loop(n):
        total = 0
        for i in range(n):
            try:
                total += top(i)
            except Miss:
                pass
        return total

    def unguarded():
        return top(1)
''')


def test_a_letter_of_another_thread_is_not_taken(tmp_path, monkeypatch):
    """Threads that handle exceptions through wrapped functions leave
    letters for their own handlers all the time; an exception that nothing
    catches, raised meanwhile in another thread, still stops where it was
    raised, every time, and no handled one stops."""
    namespace, stops = _stopping_module(tmp_path, monkeypatch, "busy", _BUSY)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns every few instructions
    try:
        results, running, done = [], threading.Barrier(4), threading.Event()

        def busy():
            running.wait()
            while not done.is_set():
                results.append(namespace["loop"](300))

        workers = [threading.Thread(target=busy) for _ in range(3)]
        for worker in workers:
            worker.start()
        running.wait()
        for _ in range(30):
            _in_a_thread(namespace["unguarded"])
        done.set()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert len(results) >= 3 and set(results) == {sum(range(0, 300, 3))}
    assert stops == ["leaf"] * 30


def test_the_mail_sent_to_another_process_is_that_process_s_own():
    assert pickle.loads(pickle.dumps(hr._letters)) is hr._letters


def test_a_warning_names_a_path_that_holds_braces(tmp_path, monkeypatch):
    folder = tmp_path / "{x}"
    folder.mkdir()
    path = folder / "braces.py"
    namespace = _own_module(path, "def f():\n    return 1\n", monkeypatch)
    path.write_text("def f():\n    return 2\n\n\ndef g():\n    return 3\n")  # edited since
    with pytest.warns(hr.HotRestartWarning) as warned:
        hr.wrap(namespace["f"])
    assert str(warned[0].message) == (
        f"hot-restart: {path} has changed since f was loaded (restart the program to wrap "
        f"it); it is left as it is")
    assert namespace["f"]() == 1


def test_wrap_modules_takes_several_patterns_and_looks_through_the_heap_once(tmp_path,
                                                                          monkeypatch):
    for name in ("pkgmod_a", "pkgmod_b"):
        _own_module(tmp_path / f"{name}.py", "def f():\n    return 1\n", monkeypatch)
    looks = []
    rekey = hr._rekey_code_holders
    monkeypatch.setattr(hr, "_rekey_code_holders", lambda: (looks.append(1), rekey())[1])
    hr.wrap_modules("pkgmod_a", "pkgmod_b")
    assert all(hr._PROPAGATE in sys.modules[n].f.__code__.co_names
               for n in ("pkgmod_a", "pkgmod_b"))
    assert looks == [1]


def test_the_handler_of_instrumented_code_without_its_source_is_not_a_catcher():
    """A function sent by value (a task of a cluster) runs instrumented code
    whose file is not at hand: its catchers come from the bytecode, where
    the handler hot-restart put around its body is not one of the user's,
    and a bare except of the user's still is."""
    import dis
    codes = _compile("def work(x):\n    return ratio(x) + 1\n\n"
                     "def guarded(x):\n    try:\n        return ratio(x)\n    except:\n"
                     "        return 0\n", True)
    for (name, _), expected in ((("work", 1), []), (("guarded", 4), [None])):
        code = codes[(name, 1 if name == "work" else 4)].replace(co_filename="<dynamic-code>")
        call = next(i.offset for i in dis.get_instructions(code)
                    if i.opname.startswith("CALL") and i.positions.lineno in (2, 6))
        found = hr._table_catchers(code, call)
        assert [c.type_expr for k in found for c in k.clauses] == expected, name
