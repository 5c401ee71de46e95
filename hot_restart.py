"""Edit-and-continue for Python: fix the crashed function, type ``c``, go on.

When a wrapped function raises, and no caller would catch the exception, a
debugger opens in that function with every caller still alive.  The
developer fixes the source in an editor and types ``c``: every changed
definition is recompiled from its file and put in place, and the failed call
runs again with its arguments.  Nothing is re-imported and no module-level
code runs again.

Functions are instrumented *in place*: the function is recompiled from its
own file with its body inside an exception handler, and that code is assigned
to the function's ``__code__``.  There is no wrapper frame, the function keeps
its identity, and every reference to it sees each reload.

The module reads top to bottom in dependency order, in two parts.

Part I, the core:

1. Settings, errors, the one output channel, ``_settings`` (the core's
   one way to Part II), and the one state of the stop decisions: what the
   run decided (``_stops``), what is kept (``_caches``), the letters
2. Finding definitions: walking a parsed file, scopes, outlines, positions
3. Instrumentation: the handler put around each function body, and the
   count a generator keeps for its restart (written, and read back from
   the code: how many yields it numbers, what follows its last one)
4. The registry: files, their compiled versions (and their cache on disk),
   wrapped definitions and the code objects that run them; where a
   function only its module holds is replaced by one made as a ``def``
   makes it (calls to it stay specialized on 3.13+)
5. Reload: what changed in a file (parsing only the edited statements), as
   typed events; the surrogate module, its ``super()`` made explicit where
   the live function has no ``__class__`` cell; putting new code in place
   (closures that lack a variable the fix uses read it through a holder);
   the report
6. The catchers: what may handle an exception coming out of a call, one
   small object per kind (except clauses, context managers, the runtime's
   iteration and attribute protocols, C functions, catch-alls of the
   runtime, of test runners and of servers, asyncio tasks, futures), and
   how each is asked
7. Finding the catchers of a call site, from the source or, where there
   is none that holds the code, from the bytecode and its exception table
8. Deciding whether to stop: would a caller catch the exception?  The
   verdicts kept, the chains of callers kept for the next exception from
   the same function, and the letters that spare the wrapped functions
   between the one that decides and the one that catches
9. The debugger: the session every debugger shares, an adapter class each
   for pdb, ipdb, pudb and VS Code (debugpy) with its facts, the choice
   among them, and the session loop
10. Runtime hooks called by instrumented code: the handler, the restart
    and the one record a stop hands to it (a generator's replay past its
    values, or what follows its last yield)
11. Public API (``__all__``, in its groups): wrapping (``wrap``,
    ``wrap_class``, ``wrap_module``, ``wrap_modules``, ``no_wrap``,
    ``ignore``); modules (``reload_module``, ``restart_module``,
    ``is_restarting_module``); at a stop (``reraise``, ``exit``) and the
    errors (``ReloadException``, ``HotRestartWarning``); ``reload`` and the
    settings (``RELOAD_ON_CONTINUE``, ``RELOAD_ALL_ON_CONTINUE``,
    ``PRINT_HELP_MESSAGE``, ``PROPAGATED_EXCEPTIONS``, ``DEBUGGER``); the
    command line and the import hook (``main``, ``install_import_hook``,
    ``catch_all``); defined in Part II: clusters (``ray_runtime_env``,
    ``dask_setup``) and watch mode (``watch``, ``patch``, ``revert``,
    ``commit``, ``WATCH_INTERVAL``, ``WATCH_SETTLE``)
12. Instrumented from birth: the import hook and the command line (and
    the children that multiprocessing spawns from it, set up the same way)

Part II, the settings: each fills its part of ``_settings`` where it is
defined, and the core never names them (a test holds this):

13. Sessions held elsewhere: a child process's in the terminal of the
    ancestor that holds it, a detached program's waiting for
    ``python -m hot_restart attach``, and a program started with plain
    python that ``attach PID`` makes active (3.14+, ``sys.remote_exec``);
    the sockets, their protocol, the relay; every Python program a run of
    the command line starts, set up as it starts (the starter on its path)
14. Ray and Dask: the workers of a cluster set up as hot-restart's
15. Watch mode: saved edits applied in a thread, the develop loop
    (``--loop``), and ``patch`` / ``revert`` / ``commit``
16. IPython: ``%load_ext hot_restart`` and the ``%hot_restart`` magic (in a
    Jupyter kernel, the processes the notebook starts hold their sessions
    there)
17. pytest plugin: ``pytest --hot-restart`` (off without a terminal; under
    pytest-xdist the workers' sessions come to the terminal; a doctest is
    said to be out of reach)

Where a section of Part I reaches forward, to a later one (functions call
what is defined further down; the same test holds the list): the
registry puts the runtime's names in the main module (``_carry_runtime``);
reload asks which names are local to a running frame's code
(``_local_names``),
wraps a class a fix adds, as the API does (``wrap_class``,
``_innermost``), and asks whether the import hook is in place
(``_installed``); the catchers that wait on other frames (a task, a
future, a generator) find those frames' catchers (``_catchers_at``,
``_collect_catchers``, ``_tree_of``, ``_expression``, ``_plain``,
``_reference``) and ask them as the decision does (``_above``,
``_search``); finding the catchers knows the catch-alls declared through
the API (``catch_all``, ``_declared_catch_alls``) and the command line's
``main``; the decision asks the debugger in use (``_debuggers``); the
debugger asks the runtime hooks for their own frames and for a fix picked
up by another thread (``_own_frame``, ``_picked_up_fix``).
"""

import ast
import builtins
import collections
import contextlib
import contextvars
import copy
import dis
import enum
import fnmatch
import functools
import gc
import importlib.machinery
import importlib.util
import linecache
import marshal
import os
import runpy
import signal
import sys
import sysconfig
import threading
import types
import warnings
import weakref
import zlib
from contextlib import contextmanager

__version__ = "0.3.0"

# pytest leaves the frames of this module out of the tracebacks it reports
__tracebackhide__ = True

__all__ = [
    "wrap", "wrap_class", "wrap_module", "wrap_modules", "no_wrap", "ignore",
    "reload_module", "restart_module", "is_restarting_module",
    "reraise", "exit", "ReloadException", "HotRestartWarning",
    "reload", "RELOAD_ON_CONTINUE", "RELOAD_ALL_ON_CONTINUE", "PRINT_HELP_MESSAGE",
    "PROPAGATED_EXCEPTIONS", "DEBUGGER", "main", "install_import_hook", "catch_all",
    "ray_runtime_env", "dask_setup", "watch", "patch", "revert", "commit",
    "WATCH_INTERVAL", "WATCH_SETTLE",
]

###############################################################################
###############################################################################
# Part I: the core
###############################################################################
###############################################################################

###############################################################################
# Settings, errors, and the one output channel
###############################################################################

#: On continue, recompile what changed before calling the failed function
#: again.  When false, continue simply runs the same code again.
RELOAD_ON_CONTINUE = True

#: On continue, reload every changed file that holds wrapped code, not just
#: the function that failed: the fix is often in a helper, or in two files.
RELOAD_ALL_ON_CONTINUE = True

#: Print how to continue, the first time the debugger opens.
PRINT_HELP_MESSAGE = True

#: Exception types that never open the debugger, in any wrapped function
#: (``wrap(propagated_exceptions=...)`` does the same for one function).
PROPAGATED_EXCEPTIONS = ()

#: Which debugger opens on a crash, by name: ``"pdb"``, ``"ipdb"``, ``"pudb"``
#: or ``"pydevd"`` (also ``"debugpy"``: VS Code) (``HOT_RESTART_DEBUGGER``, or
#: ``--debugger`` on the command line).  Empty means choose: debugpy when it
#: runs the program, pudb when the program imported it, else ipdb when it can
#: be imported, else pdb.  A name that cannot be used gets a one-line message
#: and pdb.
DEBUGGER = os.environ.get("HOT_RESTART_DEBUGGER", "")


class _Output:
    """The one channel for what hot-restart tells the user outside a debugger
    session (in one, the session's debugger prints): notices, warnings of
    the command line, the report of :func:`reload`.  ``stream`` is where it
    goes, standard error as it is at the time of writing when None; a
    session held elsewhere redirects it here and nowhere else."""

    stream = None
    terminal = None  # the terminal, opened when the output goes to a file

    def say(self, text, end="\n"):
        stream = self.stream or sys.stderr
        stream.write(text + end)
        stream.flush()

    def notice(self, text):
        """Say ``text`` as hot-restart's own (see :func:`_notice`)."""
        self.say(_notice(text))

    @staticmethod
    def answer(text):
        """The answer to a command that asks (``attach --list``): on
        standard output, where a pipe takes it, not said with the rest."""
        print(text, flush=True)


def _notice(text):
    """``text`` marked as hot-restart's, as everything it tells the user is
    (a notice, a warning, a debugger's message): the one place that writes
    the prefix."""
    return "hot-restart: " + text


_output = _Output()


#: Stands for a value that is not there (None may be one).
_MISSING = object()


def _short(path):
    """``path`` as a message shows it: relative to the current folder when
    it is inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


def _every_frame():
    """The frames of every thread's stack, innermost first."""
    for frame in sys._current_frames().values():
        while frame is not None:
            yield frame
            frame = frame.f_back


# The one state of the stop decisions (section 8 decides; the registry and
# reload forget what is kept when code changes).

class _Stops:
    """What the stop decisions remember of the run: raise sites marked as
    control flow, exceptions the user let propagate, whether the no-terminal
    notice was given, and whether the pytest plugin saw a terminal."""

    def __init__(self):
        self.control_flow = set()
        self.let_go = {}       # id -> the last few exceptions the user let propagate
        self.restarts = {}  # failed frame -> its _Restart, until the restart takes it
        self.unwrapped_reported = set()  # edited files of unwrapped code already reported
        self.unwrapped_stamps = {}  # their stamps, as the first session after their import saw them
        self.recursion = None  # see _outermost_of_recursion
        self.warned_no_terminal = False
        self.terminal_override = False
        self.catch_alls = _DeclaredCatchAlls()
        self.switched_off = False  # %hot_restart off
        #: ids of the frames whose failed call is being run again: the new
        #: call's frame stands for them in the debugger's stack
        self.restarting = set()
        #: the sessions open, and the threads other than the main one whose
        #: session continued: what the program's end waits for (see
        #: _wait_for_sessions)
        self.open_sessions, self.continued = 0, []
        self.settled = threading.Condition()
        self.end_waits = False


class _DeclaredCatchAlls:
    """The functions declared with :func:`catch_all`: ``on`` and ``off``
    hold ``(file, first line)`` of their code; ``pending``, dotted names
    whose module is not imported yet, with the answer for each."""

    def __init__(self):
        self.on, self.off, self.pending = set(), set(), {}


class _StopCaches:
    """What the stop decisions compute once and keep: derived from the
    program's code and files, never from what happened in the run."""

    def __init__(self):
        self.terminal = None   # (stdin, whether it is a terminal)
        self.catchers = _Bounded(4096)     # (id(code), lasti) -> (code, catchers)
        self.trees = _Bounded(256)         # path -> (stamp, {(name, first_line): node})
        self.parsed = _Bounded(16)         # path -> (text, its tree): see _read_tree
        self.local_names = _Bounded(4096)  # code -> the names local to it
        # (id(code), lasti, type) -> (code, (verdict, type that goes on),
        # what the fast path does there: _PASSES_WRAPPED, or the verdict)
        self.verdicts = _Bounded(8192)
        # (id(code), type) -> the chains of callers through which an
        # exception of that type raised in that code was caught, merged
        # into a tree where they share their first callers (see
        # _known_to_be_caught and _keep_chain)
        self.chains = _Bounded(2048)
        # id(code) -> (code, the offsets of the handler instrumenting put in it)
        self.own_handlers = _Bounded(1024)

    def forget_verdicts(self):
        """The verdicts may no longer hold (new code, a catch-all declared)."""
        self.verdicts.clear()
        self.chains.clear()


class _Bounded(dict):
    """A cache that forgets everything once it holds ``limit`` entries: what
    a program asks about again soon comes back at once."""

    __slots__ = ("limit",)

    def __init__(self, limit):
        super().__init__()
        self.limit = limit

    def keep(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


_stops, _caches = _Stops(), _StopCaches()


class _Mail:
    """The letter for the handlers of the wrapped functions that an
    exception known to be caught above will pass on its way there (see
    :func:`_mail`): ``exc``, and ``left``, how many handlers have yet to
    take it.  Instrumented code names it; sent by value to another process
    (with a function of ``__main__``), it stands for that process's own."""

    __slots__ = ("exc", "left")

    def __init__(self):
        self.exc, self.left = None, 0

    def send(self, exc, handlers):
        # no letter, then the exception, then the count: a handler of another
        # thread that looks in between finds no letter, or not for its exception
        self.left = 0
        self.exc = exc
        self.left = handlers

    def drop(self):
        """Letters not taken: their exception was caught before."""
        self.exc, self.left = None, 0

    def __reduce__(self):
        return _the_mail, ()


def _the_mail():
    return _letters


#: The one mail of the process: instrumented code names it, so it is never
#: replaced (the stop decisions' other state may be).
_letters = _Mail()


class ReloadException(Exception):
    """The base of hot-restart's own errors.

    Its message says what went wrong and what to do about it.
    """


class _NoPlace(ReloadException):
    """A session cannot be held where it should; the message says why."""


class _Settings:
    """The core's one way to the settings of Part II, which it never names:
    each fills its part where it is defined, as the module is imported.

    ``elsewhere``: sessions held in another process's terminal (13): where
    a stop would be held (``place()``, None for this process's terminal),
    the holder's ``terminal`` around its own sessions, ``start_holding()``,
    ``forget()``, the project's ``roots``, ``take_sources(session)`` before
    a reload, ``ask_for_attach(timeout)`` and ``attach(argv)`` for the
    command line.  ``children``: the Python programs a run of the command
    line starts, set up to run with hot-restart too (``carry(roots,
    options)``, in 13).  ``loops``: the develop loop of watch mode (15): the
    functions named for ``--loop`` and ``--xloop`` (``add``,
    ``targets_in(path)``, ``wanted``, ``refuse``, ``refused_for``) and
    ``run(cells, frame, record)``; ``watch``: watch mode's start.
    ``on_ray(ray)``: Ray's ``init`` set up for a cluster (14); ``on_dask(distributed)``:
    each Dask ``Client`` sets up the workers of the cluster it connects to (14)."""

    __slots__ = ("elsewhere", "children", "loops", "watch", "on_ray", "on_dask")


_settings = _Settings()

#: The debugger session open in this thread or task (a :class:`_Session`),
#: None when there is none: reload and the stop decision ask it too.
_session = contextvars.ContextVar("hot_restart_session", default=None)

#: The flags of a code object whose function takes ``*args``, ``**kwargs``.
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


class HotRestartWarning(UserWarning):
    """Issued when a function cannot be instrumented and is left as it is."""


# Names that instrumented code uses.  None of them is an identifier, so they
# cannot collide with the user's names.  They live in ``builtins``, never in
# a module's globals.
_PROPAGATE = "@hot_restart.propagate"
_AGAIN = "@hot_restart.again"
_AGAIN_ASYNC = "@hot_restart.again_async"
_AGAIN_GEN = "@hot_restart.again_gen"
_AGAIN_AGEN = "@hot_restart.again_agen"
_COUNT = "@hot_restart.count"
_VALUE = "@hot_restart.value"
_SUPER = "@hot_restart.super"
_TRACK = "@hot_restart.track"
_SAVED = "@hot_restart.saved."
_LOOP_ENTER = "@hot_restart.loop_enter"
_MAIL = "@hot_restart.mail"
_EXCEPTION = "@hot_restart.exception"

class _Again(BaseException):
    """Sent from a restarted call that failed again to the loop that started it."""


class _LoopStart(BaseException):
    """Sent from the first statement of a function under ``--loop`` to its handler."""


class _Retry(BaseException):
    """Unwinds the stack to ``target``, a wrapped frame the user chose to restart."""

    def __init__(self, target):
        super().__init__(target.f_code.co_name)
        self.target = target


# Exceptions that are part of normal control flow and always propagate (and
# bdb.BdbQuit, a debugger's quit, once bdb is imported), hot-restart's own too.
_NEVER_STOP = (KeyboardInterrupt, SystemExit, GeneratorExit, StopIteration,
               StopAsyncIteration, _Again, _Retry, _LoopStart)

_NO_WRAP_ATTR = "__hot_restart_no_wrap__"

###############################################################################
# Finding definitions
###############################################################################

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFS = {ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef}
_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_TRIES = (ast.Try, getattr(ast, "TryStar", ast.Try))
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _first_line(node):
    """The line a compiled definition starts on: its first decorator's."""
    return node.decorator_list[0].lineno if node.decorator_list else node.lineno


_COMPOUND = {ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
             ast.ExceptHandler, ast.Match, ast.match_case} | (
                 {ast.TryStar} if hasattr(ast, "TryStar") else set())


def _nested_statements(body):
    """Yield the def and class statements of one scope, in source order.

    Compound statements (if, for, try, with, match) are entered; nested
    scopes are not.
    """
    for node in body:
        kind = type(node)
        if kind in _DEFS:
            yield node
        elif kind in _COMPOUND:
            for field in _BODIES:
                inner = getattr(node, field, None)
                if inner:
                    yield from _nested_statements(inner)


def _read_tree(path, lines):
    """The tree of one version of the file ``path`` (``lines``, its text),
    parsed once and shared by whoever reads it: finding a definition's
    lines, planning a reload, deciding a stop.  No one changes it (a reload
    compiles a copy of each definition it takes from it); instrumenting a
    whole module changes its tree, and parses its own (see
    :meth:`_Registry._compile`).  Raises SyntaxError or ValueError as
    ``ast.parse`` does."""
    text = "".join(lines)
    cached = _caches.parsed.get(path)
    if cached is not None and cached[0] == text:
        return cached[1]
    return _caches.parsed.keep(path, (text, ast.parse(text, path)))[1]


def _definitions(tree):
    """Yield ``(qualname, ordinal, node, ancestors)`` for every definition.

    ``ordinal`` tells apart definitions that share a qualified name (a
    property's getter and setter, a conditional definition): it counts the
    earlier ones.  Outer definitions come before the ones they contain.
    """
    return _definitions_in(tree.body, "", (), {})


def _definitions_in(body, prefix, ancestors, counts):
    for node in _nested_statements(body):
        qualname = prefix + node.name
        ordinal = counts.get(qualname, 0)
        counts[qualname] = ordinal + 1
        yield qualname, ordinal, node, ancestors
        sep = ".<locals>." if isinstance(node, _FUNCS) else "."
        yield from _definitions_in(node.body, qualname + sep, ancestors + (node,), counts)


def _param_names(args):
    names = [a.arg for a in args.posonlyargs + args.args]
    if args.vararg:
        names.append(args.vararg.arg)
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


class _Scope:
    """What one function scope binds and uses, found from its AST.

    ``stores``: names the body binds (assignment, del, for/with/except/import/
    match targets, walrus, nested def and class).  ``loads``: names read here
    or in nested scopes and not bound there.  ``generator``: the body yields.
    """

    __slots__ = ("params", "stores", "loads", "declared_global",
                 "declared_nonlocal", "generator")

    def __init__(self, params):
        self.params = params
        self.stores = set()
        self.loads = set()
        self.declared_global = set()
        self.declared_nonlocal = set()
        self.generator = False

    @property
    def locals(self):
        return (self.stores | set(self.params)) - self.declared_global - self.declared_nonlocal

    @property
    def rebound(self):
        """Parameters that the body assigns to, in signature order."""
        return [p for p in self.params if p in self.stores]

    @property
    def free(self):
        """Names that may come from an enclosing function."""
        return (self.loads - self.locals - self.declared_global) | self.declared_nonlocal


def _analyze(fn, scopes, deep=True):
    """Fill ``scopes[fn]`` (and nested functions') with a :class:`_Scope`.

    ``deep=False`` reads only statements and assignment targets: enough for
    ``stores`` when the body has no walrus and no yield, and much faster.
    ``loads`` then stays empty.
    """
    scope = _Scope(_param_names(fn.args))
    scopes[fn] = scope
    _walk_scope([fn.body] if isinstance(fn, ast.Lambda) else list(fn.body), scope, scopes,
                deep)
    return scope


_PATTERN_FIELDS = ("patterns", "kwd_patterns", "pattern")


def _pattern_binds(pattern):
    """The names a match pattern binds itself (``case [x, *rest]``: the
    capture's ``x``, the star's ``rest``, a mapping's ``**rest``), not those
    of the patterns inside it."""
    return [n for n in (getattr(pattern, "name", None), getattr(pattern, "rest", None)) if n]


def _walk_scope(stack, scope, scopes, deep=True):
    """Fill ``scope`` from the nodes on ``stack``, which run in it.

    ``deep``: every node, with the loads, and nested scopes analysed into
    ``scopes``.  Otherwise only statements and their targets (see
    :func:`_analyze`): what they bind, and no loads."""
    stores, loads = scope.stores, scope.loads
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            (loads if type(node.ctx) is ast.Load else stores).add(node.id)
        elif kind in _FUNCS or kind is ast.Lambda:
            if kind is not ast.Lambda:
                stores.add(node.name)
                if not deep:
                    continue
                stack.extend(node.decorator_list)
                if node.returns:
                    stack.append(node.returns)
                stack.extend(a.annotation for a in _all_args(node.args) if a.annotation)
            stack.extend(node.args.defaults)
            stack.extend(d for d in node.args.kw_defaults if d)
            loads |= _analyze(node, scopes).free
        elif kind is ast.ClassDef:
            stores.add(node.name)
            if deep:
                stack.extend(node.decorator_list + node.bases + [k.value for k in node.keywords])
                inner = _Scope([])
                _walk_scope(list(node.body), inner, scopes)
                loads |= inner.loads - inner.declared_global
        elif kind in _COMPS:
            inner = _Scope([])
            first, *rest = node.generators
            stack.append(first.iter)
            body = [first.target] + first.ifs
            for gen in rest:
                body += [gen.target, gen.iter] + gen.ifs
            body += [node.key, node.value] if kind is ast.DictComp else [node.elt]
            _walk_comprehension(body, inner, scope, scopes)
            loads |= inner.loads - inner.stores
        elif kind is ast.Global:
            scope.declared_global.update(node.names)
        elif kind is ast.Nonlocal:
            scope.declared_nonlocal.update(node.names)
        elif kind in (ast.Yield, ast.YieldFrom):
            scope.generator = True
            if node.value:
                stack.append(node.value)
        elif kind is ast.alias:
            if node.name != "*":
                stores.add(node.asname or node.name.partition(".")[0])
        elif kind is ast.ExceptHandler:
            if node.name:
                stores.add(node.name)
            stack.extend(ast.iter_child_nodes(node) if deep else node.body)
        elif isinstance(node, ast.pattern):
            stores.update(_pattern_binds(node))
            if deep:
                stack.extend(ast.iter_child_nodes(node))
            else:
                for field in _PATTERN_FIELDS:
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        stack.extend(inner)
                    elif inner is not None:
                        stack.append(inner)
        elif deep:
            stack.extend(ast.iter_child_nodes(node))
        else:
            stack.extend(_binding_parts(node, kind))


def _binding_parts(node, kind):
    """The parts of a statement (or of an assignment target) that can bind
    a name in its scope, for the walk that reads statements alone: targets
    and nested bodies, not expressions."""
    if kind in (ast.Tuple, ast.List):
        return node.elts
    if kind is ast.Starred:
        return [node.value]
    if kind in (ast.Assign, ast.Delete):
        return node.targets
    if kind in (ast.AugAssign, ast.AnnAssign):
        return [node.target]
    if kind in (ast.For, ast.AsyncFor):
        return [node.target] + node.body + node.orelse
    if kind in (ast.With, ast.AsyncWith):
        return [i.optional_vars for i in node.items if i.optional_vars] + node.body
    if kind in (ast.Import, ast.ImportFrom):
        return node.names
    if kind is ast.Match:
        return [part for case in node.cases for part in [case.pattern] + case.body]
    if kind in _COMPOUND:
        return [inner for field in _BODIES for inner in getattr(node, field, ())]
    return ()


def _walk_comprehension(body, inner, outer, scopes):
    """A comprehension's targets are its own; a walrus inside binds outside."""
    stack = list(body)
    while stack:
        node = stack.pop()
        if type(node) is ast.NamedExpr:
            outer.stores.add(node.target.id)
            stack.append(node.value)
        else:
            _walk_scope([node], inner, scopes)


def _all_args(args):
    every = args.posonlyargs + args.args + args.kwonlyargs
    return every + [a for a in (args.vararg, args.kwarg) if a]


def _mangle(name, class_name):
    """Private-name mangling, as the compiler does it inside a class."""
    if class_name is None or not name.startswith("__") or name.endswith("__"):
        return name
    stripped = class_name.lstrip("_")
    return f"_{stripped}{name}" if stripped else name


def _segment(lines, node):
    """The source text of ``node`` (columns are UTF-8 byte offsets)."""
    first, last = node.lineno - 1, node.end_lineno - 1
    chunk = [line.encode() for line in lines[first:last + 1]]
    if not chunk:
        return ""
    chunk[-1] = chunk[-1][:node.end_col_offset]
    chunk[0] = chunk[0][node.col_offset:]
    return b"".join(chunk).decode(errors="replace")


def _crc(text):
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


#: One definition in a file's outline (see :func:`_outline`).
_Def = collections.namedtuple("_Def", "kind parent first text head")
#: what the compiled version of a file knows of one function (see
#: :meth:`_Registry.version`): its ordinal among the definitions of its
#: name, and the source texts of its defaults
_Indexed = collections.namedtuple("_Indexed", "ordinal defaults")


def _outline(body, lines, counts=None, flags=0):
    """What one version of a file defines, small enough to keep instead of its AST.

    ``body``: the statements of a module (or of a region of one, with the
    ``counts`` of the definitions before it).  Returns plain data, cached
    with the code:

    - ``defs``: ``(qualname, ordinal)`` to a :data:`_Def` ``(kind, parent,
      first, text, head)``, in source order.  ``kind`` is ``"def"`` or ``"class"``,
      ``parent`` the enclosing definition's key or None, ``text`` a CRC of
      the definition's lines and ``head`` of its decorators (and a class's
      bases).
    - ``statements``: for each body (None for the module, a class's key for
      a class) ``[(crc, line)]`` of its statements that are not definitions.
    - ``tops``: ``[(first_line, last_line)]`` of the top-level statements.
    - ``flags``: the compiler flags of its ``from __future__`` imports.
    """
    defs, keys = {}, {}
    statements = {None: _plain_statements(body, lines)}
    counts = {} if counts is None else counts
    for qualname, ordinal, node, ancestors in _definitions_in(body, "", (), counts):
        key = (qualname, ordinal)
        keys[id(node)] = key
        is_class = isinstance(node, ast.ClassDef)
        head = node.decorator_list + (node.bases + [k.value for k in node.keywords]
                                      if is_class else [])
        defs[key] = _Def("class" if is_class else "def",
                         keys[id(ancestors[-1])] if ancestors else None,
                         _first_line(node),
                         _crc("".join(lines[_first_line(node) - 1:node.end_lineno])),
                         _crc("\0".join(_segment(lines, h) for h in head)))
        if is_class:
            statements[key] = _plain_statements(node.body, lines)
    tops = [(_first_line(n) if type(n) in _DEFS else n.lineno, n.end_lineno) for n in body]
    return {"defs": defs, "statements": statements, "tops": tops, "flags": flags}


def _plain_statements(body, lines):
    """``[(crc, line)]`` of the statements in ``body`` that are not definitions;
    the lines of definitions nested in a compound statement do not count."""
    found = []
    for node in body:
        if type(node) in _DEFS:
            continue
        skip = set()
        for inner in _nested_statements([node]):
            skip.update(range(_first_line(inner), inner.end_lineno + 1))
        text = "".join(lines[n - 1] for n in range(node.lineno, node.end_lineno + 1)
                       if n not in skip)
        found.append((_crc(text), node.lineno))
    return found


def _walk_own_scope(body):
    """Every node of ``body`` that runs in its scope: a nested function,
    lambda or class is yielded, not entered."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _FUNCS + (ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


###############################################################################
# Instrumentation
###############################################################################

_LOAD, _STORE = ast.Load(), ast.Store()


class _Maker:
    """The one way generated nodes get their position: all the nodes one
    maker builds carry the same one, without a walk.  ``_Maker(line,
    column)`` is a point; ``_Maker.like(node)`` the span of a node of the
    user's that the new one stands for."""

    def __init__(self, lineno, col, end_lineno=None, end_col=None):
        self.pos = {"lineno": lineno, "col_offset": col,
                    "end_lineno": lineno if end_lineno is None else end_lineno,
                    "end_col_offset": col if end_col is None else end_col}

    @classmethod
    def like(cls, node):
        return cls(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)

    def __call__(self, cls, **fields):
        return self.place(cls(**fields))

    def name(self, id_, ctx=_LOAD):
        return self.place(ast.Name(id_, ctx))

    def place(self, node):
        """Give ``node`` (built elsewhere) this position; returns it."""
        node.__dict__.update(self.pos)
        return node

    def fill(self, node):
        """Give this position to ``node`` and its descendants that have none."""
        for child in ast.walk(node):
            if "lineno" in child._attributes and getattr(child, "lineno", None) is None:
                self.place(child)
        return node


class _Plan:
    """How to instrument one function: a plain value object.

    ``cells`` are the free variables the restart must carry over; ``saved``
    the parameters the body rebinds, copied at entry (under their mangled
    names, as the frame knows them); ``class_name`` the nearest enclosing
    class, for mangling.
    """

    __slots__ = ("cells", "saved", "class_name", "generator")

    def __init__(self, cells, saved, class_name, generator=False):
        self.cells, self.saved, self.class_name = cells, saved, class_name
        self.generator = generator


def _instrumentable(fn, scope):
    """A function whose body is more than a docstring."""
    return len(fn.body) > _has_docstring(fn)


def _has_docstring(fn):
    first = fn.body[0]
    return int(isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
               and isinstance(first.value.value, str))


def _plan(fn, qualname, ancestors, scopes, keep_free=()):
    """Decide what the handler around ``fn`` must carry."""
    scope = scopes[fn]
    enclosing = set()
    class_name = None
    for anc in ancestors:
        if isinstance(anc, ast.ClassDef):
            class_name = anc.name
        else:
            enclosing |= scopes[anc].locals
    cells = scope.free & enclosing if enclosing else set()
    if class_name and scope.loads & {"super", "__class__"}:
        cells.add("__class__")
    cells |= set(keep_free)
    return _Plan(sorted(cells), scope.rebound, class_name, scope.generator)


def _instrument(fn, plan):
    """Put the body of ``fn`` inside the handler, in place.

    The result reads, for ``def f(a, b=1, *args, c, **kw)`` where the body
    rebinds ``a``::

        def f(a, b=1, *args, c, **kw):
            <docstring>
            saved.a = a
            try:
                <body>
            except:
                if mail.left and mail.exc is exception():
                    mail.left -= 1
                    if not mail.left:
                        mail.exc = None
                    raise
                if propagate():
                    raise
            else:
                return None     # only if the body can fall off its end
            return again(lambda: (<cells>))

    ``mail`` holds the exception that a wrapped function below found to be
    caught above this frame, and how many handlers like this one it passes
    on its way (see :func:`_mail`): the handler takes its letter and
    raises it again without a call.  ``again`` reads the arguments
    from the failed frame (the saved copy where there is one); the lambda,
    only there for a closure, hands it the cells.  The entry code takes the
    position of the first statement, the handler and the restart the
    position of the ``def`` line, so tracebacks, pdb and coverage see the
    user's own lines.  The restart runs outside the ``except`` clause: the
    failed exception is released first and is not chained to a later one.
    """
    doc = _has_docstring(fn)
    head, body = fn.body[:doc], fn.body[doc:]
    at_entry = _Maker(body[0].lineno, body[0].col_offset)
    at_end = _Maker(body[-1].end_lineno, body[-1].col_offset)
    at_def = _Maker(fn.lineno, fn.col_offset)
    saved = {p: _SAVED + _mangle(p, plan.class_name) for p in plan.saved}
    entry = [at_entry(ast.Assign, targets=[at_entry.name(s, _STORE)], value=at_entry.name(p))
             for p, s in saved.items()]
    if plan.generator and _count_yields(body):
        entry.append(at_entry(ast.Assign, targets=[at_entry.name(_COUNT, _STORE)],
                              value=at_entry(ast.Constant, value=0)))
    def call(func, *args):
        return at_def(ast.Call, func=at_def.name(func) if isinstance(func, str) else func,
                      args=list(args), keywords=[])

    def letter(attr, ctx=_LOAD):
        return at_def(ast.Attribute, value=at_def.name(_MAIL), attr=attr, ctx=ctx)

    def raise_again():
        return at_def(ast.Raise, exc=None, cause=None)

    mailed = at_def(ast.BoolOp, op=ast.And(), values=[letter("left"), at_def(
        ast.Compare, left=letter("exc"), ops=[ast.Is()], comparators=[call(_EXCEPTION)])])
    take = [at_def(ast.AugAssign, target=letter("left", _STORE), op=ast.Sub(),
                   value=at_def(ast.Constant, value=1)),
            at_def(ast.If, test=at_def(ast.UnaryOp, op=ast.Not(), operand=letter("left")),
                   body=[at_def(ast.Assign, targets=[letter("exc", _STORE)],
                                value=at_def(ast.Constant, value=None))], orelse=[]),
            raise_again()]
    handler = at_def(ast.ExceptHandler, type=None, name=None, body=[
        at_def(ast.If, test=mailed, body=take, orelse=[]),
        at_def(ast.If, test=call(_PROPAGATE), body=[raise_again()], orelse=[])])
    ends = isinstance(body[-1], (ast.Return, ast.Raise))
    guarded = ast.Try(body=body, handlers=[handler],
                      orelse=[] if ends else [at_end(ast.Return, value=None if plan.generator
                                                     else at_end(ast.Constant, value=None))],
                      finalbody=[], lineno=body[0].lineno, col_offset=body[0].col_offset,
                      end_lineno=body[-1].end_lineno, end_col_offset=body[-1].end_col_offset)
    if plan.cells:
        no_args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                kw_defaults=[], kwarg=None, defaults=[])
        cells = at_def(ast.Lambda, args=no_args, body=at_def(
            ast.Tuple, elts=[at_def.name(c) for c in plan.cells], ctx=_LOAD))
    else:
        cells = at_def(ast.Constant, value=None)
    is_async = isinstance(fn, ast.AsyncFunctionDef)
    if plan.generator:
        again = _generator_again(at_def, cells, is_async)
    else:
        call = at_def(ast.Call, func=at_def.name(_AGAIN_ASYNC if is_async else _AGAIN),
                      args=[cells], keywords=[])
        again = at_def(ast.Return, value=at_def(ast.Await, value=call) if is_async else call)
    fn.body = head + entry + [guarded, again]


def _generator_again(at, cells, is_async):
    """The restart of a generator: a new one from the current code, past the
    values already handed out.  ``return (yield from again_gen(...))``, or
    for an async generator ``async for v in again_agen(...): yield v``."""
    call = at(ast.Call, func=at.name(_AGAIN_AGEN if is_async else _AGAIN_GEN),
              args=[cells], keywords=[])
    if not is_async:
        return at(ast.Return, value=at(ast.YieldFrom, value=call))
    return at(ast.AsyncFor, target=at.name(_VALUE, _STORE), iter=call, orelse=[],
              body=[at(ast.Expr, value=at(ast.Yield, value=at.name(_VALUE)))])


def _count_yields(body):
    """Make a generator keep, in one local, how far it got, for a restart to
    skip the values it already handed out (see :class:`_Replay`).  The count
    goes up before each own yield hands out its value and after each ``yield
    from`` finishes (not where nothing runs after it), and never goes down.
    Where it can, the count is a constant: a yield statement outside any
    loop, and before any yield that is not such a statement, stores its
    number in the source (``count = 3`` before ``yield x``, ``count = 2``
    after ``yield from it``: two instructions).  The other yields add 1
    (``count += 1``; ``(count := count + 1) and x`` inside an expression),
    after ``count = 0`` at entry.  Delegation stays native: ``send``,
    ``throw`` and ``close`` reach the inner iterator, at no cost per value.
    (One local: on 3.13 every local of a generator costs at each call.)
    Returns whether the entry must bind the count to 0."""
    numbered, adding = 0, False
    for site in _yield_sites(body):
        node, statements, stmt = site.node, site.statements, site.statement
        if statements is None:  # inside an expression
            adding = True
            site.replace(_counted(node))
            continue
        own = isinstance(node, ast.Yield)
        if not own and (isinstance(stmt, ast.Return) or site.tail):
            continue  # nothing runs after it, so nothing can fail there
        at = _Maker(stmt.lineno, stmt.col_offset) if own \
            else _Maker(stmt.end_lineno, stmt.col_offset)
        adding = adding or site.in_loop
        numbered += not adding
        tick = _tick(at, None if adding else numbered)
        statements.insert(statements.index(stmt) + (not own), tick)
    return adding


class _YieldSite:
    """A yield of a generator's own scope: the node, the statement whose
    value it is (in its list of ``statements``) or None inside an
    expression, whether it is in a loop, whether nothing runs after it, and
    how to put another node in its place."""

    __slots__ = ("node", "statements", "statement", "in_loop", "tail", "replace")

    def __init__(self, node, statements, statement, in_loop, tail, replace):
        self.node, self.statements, self.statement = node, statements, statement
        self.in_loop, self.tail, self.replace = in_loop, tail, replace


_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_YIELDS = (ast.Yield, ast.YieldFrom)
_VALUE_STATEMENTS = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return)


def _yield_sites(body):
    """The :class:`_YieldSite` of each yield in ``body``, in source order
    (which, outside loops, is the order they run in)."""
    sites = []

    def expression(parent, field, in_loop):
        stack = [(parent, field)]
        while stack:
            node, name = stack.pop()
            value = getattr(node, name)
            for i, child in (enumerate(value) if isinstance(value, list) else [(None, value)]):
                if not isinstance(child, ast.AST) or isinstance(child, _FUNCS + (
                        ast.Lambda, ast.ClassDef)):
                    continue
                stack.extend((child, f) for f in reversed(child._fields))
                if isinstance(child, _YIELDS):
                    sites.append(_YieldSite(child, None, None, in_loop, False,
                                            _replacer(node, name, i)))

    def statements(stmts, in_loop, tail):
        for i, stmt in enumerate(stmts):
            last = tail and i == len(stmts) - 1
            if type(stmt) in _DEFS:
                continue
            value = getattr(stmt, "value", None)
            if isinstance(stmt, _VALUE_STATEMENTS) and isinstance(value, _YIELDS):
                expression(value, "value", in_loop)
                sites.append(_YieldSite(value, stmts, stmt, in_loop, last, None))
                fields = [f for f in stmt._fields if f != "value"]
            else:
                fields = stmt._fields
            for field in fields:
                child = getattr(stmt, field)
                if field in ("body", "orelse", "finalbody"):
                    looping = in_loop or (field == "body" and isinstance(stmt, _LOOPS))
                    statements(child, looping, last and isinstance(stmt, ast.If))
                elif field in ("handlers", "cases"):
                    for clause in child:
                        for f in clause._fields:
                            if f != "body":
                                expression(clause, f, in_loop)
                        statements(clause.body, in_loop, False)
                else:
                    expression(stmt, field, in_loop or isinstance(stmt, ast.While))

    statements(body, False, True)
    return sites


def _replacer(parent, field, index):
    if index is None:
        return lambda node: setattr(parent, field, node)
    return lambda node: getattr(parent, field).__setitem__(index, node)


def _tick(at, number=None, expression=False):
    """``count = number``, or without a number ``count += 1``, or as an
    expression ``(count := count + 1)``."""
    if number is not None:
        return at(ast.Assign, targets=[at.name(_COUNT, _STORE)],
                  value=at(ast.Constant, value=number))
    if not expression:
        return at(ast.AugAssign, target=at.name(_COUNT, _STORE), op=ast.Add(),
                  value=at(ast.Constant, value=1))
    return at(ast.NamedExpr, target=at.name(_COUNT, _STORE), value=at(
        ast.BinOp, left=at.name(_COUNT), op=ast.Add(), right=at(ast.Constant, value=1)))


def _counted(node):
    """A yield inside an expression, counted there."""
    at = _Maker(node.lineno, node.col_offset)
    if isinstance(node, ast.Yield):
        node.value = at(ast.BoolOp, op=ast.And(), values=[
            _tick(at, expression=True), node.value or at(ast.Constant, value=None)])
        return node
    return at(ast.Subscript, value=at(ast.Tuple, elts=[
        node, _tick(at, expression=True)], ctx=_LOAD),
        slice=at(ast.Constant, value=0), ctx=_LOAD)


def _numbered_yields(code):
    """How many yields a generator's code numbers, if it numbers them all
    (:func:`_count_yields`): the largest number it stores in its count; 0
    if it adds to the count anywhere."""
    numbers, previous = [0], None
    for ins in dis.get_instructions(code):
        names = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
        if ins.opname.startswith("STORE_FAST") and _COUNT in names:
            if previous is None or previous.opname not in _LOADS_CONSTANT \
                    or type(previous.argval) is not int or previous.argval == 0:
                return 0
            numbers.append(previous.argval)
        previous = ins
    return max(numbers)


def _after_last_yield(body):
    """The statements that follow the last yield of a generator's ``body``,
    where its yields are all numbered statements and the last one stands in
    the body or in the body of a ``try`` there; else None."""
    sites = _yield_sites(body)
    if not sites or any(s.statements is None or s.in_loop for s in sites):
        return None
    last = sites[-1]
    if not isinstance(last.node, ast.Yield) and (
            isinstance(last.statement, ast.Return) or last.tail):
        return None  # not numbered: nothing can fail after it
    statements, stmt = last.statements, last.statement
    after = statements[statements.index(stmt) + 1:]
    if statements is body:
        return after or None
    for i, outer in enumerate(body):
        if isinstance(outer, _TRIES) and statements is outer.body:
            inner = copy.copy(outer)
            inner.body = after or [_Maker.like(stmt)(ast.Pass)]
            return [inner, *body[i + 1:]]
    return None


_NEEDS_DEEP = ("yield", ":=", "super", "__class__")


def _instrument_tree(tree, lines=None, loops=()):
    """Instrument every function in ``tree`` in place.

    With the source ``lines``, a function whose text has no yield, walrus or
    ``super`` and that is not nested in another function is analysed from
    its statements only.  Returns ``{(qualname, first_line): (ordinal, node)}``
    for all definitions.
    """
    return _instrument_all(_definitions(tree), {}, lines, loops=loops)


def _instrument_all(definitions, scopes, lines=None, keep_free=None, loops=()):
    """Instrument each function of ``definitions``; see :func:`_instrument_tree`.

    ``keep_free`` maps a qualified name to free variables its new code must
    keep (those of the running closure); ``loops``, the qualified names of
    the functions run under ``--loop``, whose body starts with a call that
    starts the develop loop (see :func:`_loop_enter`).
    """
    index = {}
    for qualname, ordinal, node, ancestors in definitions:
        index[(qualname, _first_line(node))] = (ordinal, node)
        if isinstance(node, ast.ClassDef):
            continue
        if node not in scopes:
            deep = lines is None or any(isinstance(a, _FUNCS) for a in ancestors)
            if not deep:
                text = "".join(lines[node.lineno - 1:node.end_lineno])
                deep = any(word in text for word in _NEEDS_DEEP)
            _analyze(node, scopes, deep)
        if _instrumentable(node, scopes[node]):
            keep = keep_free.get(qualname, ()) if keep_free else ()
            plan = _plan(node, qualname, ancestors, scopes, keep)
            _instrument(node, plan)
            if qualname in loops and (plan.generator or isinstance(node, ast.AsyncFunctionDef)):
                _settings.loops.refuse(qualname, "a generator" if plan.generator else "a coroutine")
            elif qualname in loops:
                guarded = next(n for n in node.body if isinstance(n, ast.Try))
                at = _Maker(guarded.body[0].lineno, guarded.body[0].col_offset)
                guarded.body.insert(0, at(ast.Expr, value=at(
                    ast.Call, func=at.name(_LOOP_ENTER), args=[], keywords=[])))
        # Functions made at run time (closures, and all of a module imported
        # instrumented) join the registry as they are made.
        node.decorator_list.append(_Maker(node.lineno, node.col_offset).name(_TRACK))
    return index


def _function_codes(code, prefix="", out=None):
    """Map ``(qualname, first_line)`` to every function code inside ``code``."""
    if out is None:
        out = {}
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and not _generated(const):
            qualname = prefix + const.co_name
            if const.co_flags & _CO_NEWLOCALS:
                out[(qualname, const.co_firstlineno)] = const
                _function_codes(const, qualname + ".<locals>.", out)
            else:
                _function_codes(const, qualname + ".", out)
    return out


_CO_NEWLOCALS = 0x0002


def _generated(code):
    """Is ``code`` one the compiler made, not a ``def``: a comprehension,
    a lambda, or (3.14+, PEP 649) the ``__annotate__`` function that
    computes a class's, a function's or a module's annotations?"""
    return code.co_name.startswith("<") or (
        code.co_name == "__annotate__" and code.co_posonlyargcount == 1
        and code.co_varnames[:1] == ("format",))


def _future_flags(tree):
    flags = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                feature = getattr(__import__("__future__"), alias.name, None)
                if feature is not None:
                    flags |= feature.compiler_flag
    return flags


def _fingerprint(code):
    """What a code object does, without where it is: for "changed" reports."""
    consts = tuple(_fingerprint(c) if isinstance(c, types.CodeType) else (type(c), c)
                   for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_varnames,
            code.co_freevars, code.co_cellvars)


# Instructions whose position says nothing of the source: a pass, a function's
# start, and a return (the implicit one takes the last statement's position,
# which the handler moves).
_POSITIONLESS = {"NOP", "RESUME", "RETURN_VALUE", "RETURN_CONST"}

# Instructions that load a constant (3.14 loads the ints 0-255 with one of its
# own; 3.15, None and a few others with another).
_LOADS_CONSTANT = {"LOAD_CONST", "LOAD_SMALL_INT", "RETURN_CONST", "LOAD_CONST_IMMORTAL",
                   "LOAD_COMMON_CONSTANT"}


def _statement_positions(code):
    """The positions of ``code``'s instructions, but those of :data:`_POSITIONLESS`,
    the constant loaded for a return, and local variables' loads (3.13 fuses
    one with a store before it, which the instrumentation may add: a
    generator's count)."""
    instructions = list(dis.get_instructions(code))
    found = set()
    for ins, after in zip(instructions, instructions[1:] + [None]):
        if ins.opname in _POSITIONLESS or ins.opname.startswith("LOAD_FAST") or (
                ins.opname in _LOADS_CONSTANT and after is not None
                and after.opname == "RETURN_VALUE"):
            continue
        found.add(tuple(ins.positions))
    return found


def _own_handler_offsets(code):
    """The offsets of the instructions of the handler that instrumenting put
    in ``code``, and of the restart after it: those with the position of the
    one that loads ``propagate``.  None if ``code`` is not instrumented."""
    if _PROPAGATE not in code.co_names:
        return None
    hit = _caches.own_handlers.get(id(code))
    if hit is not None and hit[0] is code:
        return hit[1]
    positions = list(code.co_positions())  # one per code unit
    own = next(positions[i.offset // 2] for i in dis.get_instructions(code)
               if i.argval == _PROPAGATE)
    offsets = frozenset(2 * i for i, position in enumerate(positions) if position == own)
    return _caches.own_handlers.keep(id(code), (code, offsets))[1]


def _loaded_constants(code):
    """The constants ``code``'s instructions load (not ``co_consts``, where
    3.14 may leave an int that it loads with LOAD_SMALL_INT, or not, as the
    code around it changes), but those of an instrumented function's own
    handler."""
    own = _own_handler_offsets(code) or ()
    return {(type(ins.argval), ins.argval) for ins in dis.get_instructions(code)
            if ins.opname in _LOADS_CONSTANT and not isinstance(ins.argval, types.CodeType)
            and ins.offset not in own}


def _same_origin(original, instrumented):
    """Does ``instrumented`` come from the same source as ``original``?

    Instrumenting only adds names, constants and positions of its own, so the
    check is that everything the running code has is still there: its names,
    constants and, where the interpreter records them, exact positions (on
    3.10, lines).
    """
    if (original.co_name != instrumented.co_name
            or original.co_firstlineno != instrumented.co_firstlineno
            or original.co_argcount != instrumented.co_argcount
            or original.co_kwonlyargcount != instrumented.co_kwonlyargcount
            or original.co_freevars != instrumented.co_freevars):
        return False
    if hasattr(original, "co_positions"):
        where = _statement_positions
    else:
        where = lambda code: {line for _, _, line in code.co_lines()}  # noqa: E731
    return (set(original.co_names) <= set(instrumented.co_names)
            and set(original.co_varnames) <= set(instrumented.co_varnames)
            and _loaded_constants(original) <= _loaded_constants(instrumented)
            and where(original) <= where(instrumented))


###############################################################################
# The registry
###############################################################################

class _Definition:
    """One function definition of a file, and the live objects running it.

    ``code`` is the current instrumented code; ``functions`` the function
    objects hot-restart assigned it to; ``defaults`` the source text of the
    default values, so a reload re-evaluates only the ones that changed.
    """

    def __init__(self, path, qualname, ordinal):
        self.path, self.qualname, self.ordinal = path, qualname, ordinal
        self.code = None
        self.functions = weakref.WeakSet()
        self.defaults = None
        #: ``{parameter: (old default, new default)}`` for the defaults the
        #: last reload changed: a restart passes the new one where the failed
        #: call had the old one (the caller did not pass that argument)
        self.changed_defaults = {}
        self.propagated = ()
        #: the uninstrumented code of a nested function whose enclosing
        #: function was wrapped after it ran: closures made then are found
        #: (once, by a look through the heap) when this definition changes
        self.origins = []
        #: a _Remap when the last reload's code needs free variables that
        #: closures made before it lack
        self.remap = None

    @property
    def key(self):
        return (self.qualname, self.ordinal)

    def assign(self, code):
        """Run ``code`` from now on, in every function object we know of."""
        if self.code is not None:
            _registry.replaced.append((self.code, code))
        self.code = code
        if self.origins:
            self._adopt_closures()
        for fn in list(self.functions):
            self.update(fn)

    def update(self, fn):
        """Give ``fn`` the current code, or the current code remapped for a
        closure that lacks some of its free variables."""
        code = self.code
        if fn.__code__.co_freevars != code.co_freevars and self.remap is not None:
            code = self.remap.code_for(fn) or code
        if len(fn.__code__.co_freevars) == len(code.co_freevars):
            fn.__code__ = code

    def _adopt_closures(self):
        origins = {id(c) for c in self.origins}
        self.origins = []
        for obj in gc.get_objects():
            if type(obj) is types.FunctionType and id(obj.__code__) in origins and (
                    len(obj.__code__.co_freevars) == len(self.code.co_freevars)):
                self.functions.add(obj)


class _FileState:
    """A file with instrumented code, as the running program knows it.

    ``stamp``, ``outline`` and ``lines`` describe the text the live code was
    compiled from: a reload compares the file on disk against them, and
    parses again only the statements that differ.  ``namespaces``
    are where new module-level definitions go; ``wrapped``: the module, and
    the qualified names of the classes, that were wrapped whole, so their
    new definitions are wrapped too.
    """

    def __init__(self, path, stamp, outline, lines):
        self.path, self.stamp, self.outline, self.lines = path, stamp, outline, lines
        self.namespace = None
        self.prepare = None
        self.module_wrapped = False
        self.wrapped_classes = set()


class _FileVersion:
    """One version of a source file, parsed, instrumented and compiled once.

    ``older_than_process``: the file was last written before this process
    started, so the code running from it was compiled from this very text,
    and the per-function check against the running code can be skipped.
    """

    def __init__(self, path, stamp, codes, index):
        self.path, self.stamp = path, stamp
        self.module = None      # the instrumented code of the whole file
        self.codes = codes      # {(qualname, first_line): code}
        self.index = index      # {(qualname, first_line): _Indexed}
        started = _process_start()
        self.older_than_process = (stamp is not None and started is not None
                                   and stamp.written_before(started - 2))


@functools.lru_cache(maxsize=None)
def _process_start():
    """When this process started, in seconds since the epoch (Linux), else None."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rpartition(")")[2].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return None


class _Origin(enum.Enum):
    """Where the text of a source file came from."""
    DISK = "disk"        # the file, as it is on disk
    SENT = "sent"        # sent by a session's client (see _take_sources)
    PATCHED = "patched"  # given to patch()


class _Stamp:
    """Which text of a source file: on disk, its modification time and
    size; a text held in memory instead (sent, patched), its checksum.
    Equal stamps, the same text."""

    __slots__ = ("origin", "mtime_ns", "size", "crc")

    def __init__(self, origin, mtime_ns=None, size=None, crc=None):
        self.origin, self.mtime_ns, self.size, self.crc = origin, mtime_ns, size, crc

    @classmethod
    def of_text(cls, origin, text):
        return cls(origin, crc=zlib.crc32(text.encode()))

    def key(self):
        """A plain value for marshal and for names (the code cache)."""
        return (self.origin.value, self.mtime_ns, self.size, self.crc)

    def __eq__(self, other):
        return isinstance(other, _Stamp) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        return f"_Stamp{self.key()}"

    def written_before(self, seconds):
        """Was the file written on disk before ``seconds`` (since the
        epoch)?  Never for a text held in memory."""
        return self.origin is _Origin.DISK and self.mtime_ns / 1e9 < seconds

    def written_after(self, seconds):
        return self.origin is _Origin.DISK and self.mtime_ns / 1e9 > seconds


#: ``{path: _Stamp}``: files whose text is held in memory (kept in
#: linecache: sent by a session's client, see _take_sources, or patched,
#: see patch()); the stamp stands for the file's
_SENT = {}


def _stamp(path):
    sent = _SENT.get(path)
    if sent is not None:
        return sent
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _Stamp(_Origin.DISK, st.st_mtime_ns, st.st_size)


def _cache_tag():
    """Names the cache of this very copy of hot-restart, so that an edited
    or upgraded hot_restart.py never reads code instrumented by another."""
    stamp = _stamp(__file__)
    key = stamp.key() if stamp is not None else None
    return "hotrestart" + format(zlib.crc32(repr((__version__, key)).encode()), "08x")


#: Instrumented code is cached beside the interpreter's own .pyc files, under
#: this tag, keyed by the source file's modification time and size.
_CACHE_TAG = _cache_tag()


def _cache_path(path, variant=""):
    """Where the instrumented code of ``path`` is cached; ``variant`` names
    a transformation made before instrumenting (see :meth:`_Registry.version`)."""
    tag = _CACHE_TAG + (format(zlib.crc32(variant.encode()), "08x") if variant else "")
    try:
        return importlib.util.cache_from_source(path, optimization=tag)
    except (NotImplementedError, ValueError):
        return None


def _load_cached(path, stamp, variant=""):
    """``(module code, index, outline)`` from the cache, if there for this ``stamp``."""
    cache = _cache_path(path, variant) if stamp is not None else None
    if cache is None:
        return None
    try:
        with open(cache, "rb") as f:
            data = f.read()
        if data[:4] != importlib.util.MAGIC_NUMBER:
            return None
        saved, *entry = marshal.loads(data[4:])
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if tuple(saved) != stamp.key() or len(entry) != 3:
        return None
    module, index, outline = entry
    outline["defs"] = {key: _Def(*value) for key, value in outline["defs"].items()}
    return module, {key: _Indexed(*value) for key, value in index.items()}, outline


def _store_cached(path, stamp, module, index, outline, variant=""):
    """Write the cache entry; like the interpreter's .pyc, never fail over it."""
    cache = _cache_path(path, variant) if stamp is not None else None
    if cache is None or sys.dont_write_bytecode:
        return
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        temporary = f"{cache}.{os.getpid()}.tmp"
        plain = {**outline, "defs": {k: tuple(v) for k, v in outline["defs"].items()}}
        index = {k: tuple(v) for k, v in index.items()}
        with open(temporary, "wb") as f:
            f.write(importlib.util.MAGIC_NUMBER
                    + marshal.dumps((stamp.key(), module, index, plain)))
        os.replace(temporary, cache)
    except (OSError, ValueError):
        pass


def _default_texts(lines, fn):
    args = fn.args
    return ([_segment(lines, d) for d in args.defaults],
            {a.arg: _segment(lines, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d})


class _Registry:
    """Everything hot-restart knows: files, definitions and the code they run.

    ``versions``: the last compiled version of each file.  ``files``: the
    :class:`_FileState` of every file with instrumented code.  ``definitions``:
    ``{(path, qualname, ordinal): _Definition}``.  ``rests``: see
    :class:`_Rest`.  ``owner(code)``: every
    instrumented code object, old or current, leads to its definition (by
    identity, for as long as the code lives), so a frame still running old
    code is still recognised.
    """

    def __init__(self):
        self.versions = {}
        self.files = {}
        self.definitions = {}
        self._owners = {}
        #: ``{code: _Rest}``: the code that runs what follows a generator's
        #: last yield (see :func:`_again_gen`), built again at each restart
        self.rests = weakref.WeakKeyDictionary()
        self.lock = threading.RLock()
        self.strangers = weakref.WeakSet()  # instrumented code that could not be adopted
        #: (old code, new code) of functions given new code since
        #: :func:`_rekey_code_holders` last ran; while ``batched``, it waits
        self.replaced = []
        self.batched = 0

    def version(self, path, module_globals=None, prepare=None):
        """The compiled instrumented version of ``path`` as it is on disk now.

        ``prepare(tree, source)``, if given, transforms the parsed file before
        it is instrumented (pytest's assertion rewriting); such versions are
        cached on disk only where ``prepare.cache_key`` names what it does
        (pytest's version and settings), under that name.
        """
        stamp = _stamp(path)
        current = self.versions.get(path)
        if current is not None and current.stamp == stamp and stamp is not None:
            return current
        variant = "" if prepare is None else getattr(prepare, "cache_key", None)
        # as the cache has it: no function of the file runs under --loop
        cacheable = variant is not None and not _settings.loops.targets_in(path)
        cached = _load_cached(path, stamp, variant) if cacheable else None
        if cached is None:
            cached = self._compile(path, module_globals, prepare)
            if cacheable:
                _store_cached(path, stamp, *cached, variant)
        module, index, outline = cached
        codes = _function_codes(module)
        version = _FileVersion(path, stamp, codes, index)
        version.module = module
        for key, code in codes.items():
            self.own(code, self.definition(path, key[0], index[key].ordinal))
        self.versions[path] = version
        if path not in self.files:
            self.files[path] = _FileState(path, stamp, outline,
                                          linecache.getlines(path, module_globals))
            self.files[path].prepare = prepare
        return version

    @staticmethod
    def _compile(path, module_globals, prepare=None):
        """Parse, instrument and compile ``path``: ``(module code, index, outline)``.
        The one tree that is changed: parsed here for itself, not shared."""
        linecache.checkcache(path)
        lines = linecache.getlines(path, module_globals)
        if not lines and not _stamp(path):
            raise ReloadException(f"no source for {path}")
        tree = ast.parse("".join(lines), path)
        flags = _future_flags(tree)
        outline = _outline(tree.body, lines, flags=flags)
        if prepare is not None:
            prepare(tree, "".join(lines))
        nodes = _instrument_tree(tree, lines, _settings.loops.targets_in(path))
        module = compile(tree, path, "exec", flags=flags, dont_inherit=True)
        index = {key: _Indexed(ordinal, _default_texts(lines, node))
                 for key, (ordinal, node) in nodes.items() if not isinstance(node, ast.ClassDef)}
        return module, index, outline

    def state_for(self, path, module_globals=None):
        """The _FileState of ``path``, made on first use; None without a source."""
        if path and path not in self.files:
            try:
                self.version(path, module_globals)
            except (ReloadException, OSError, SyntaxError, ValueError):
                return None
        return self.files.get(path)

    def default_texts(self, definition, code):
        """The source texts of the defaults of ``code``, as its file's
        compiled version has them (None if it has not)."""
        version = self.versions.get(definition.path)
        entry = version.index.get((code.co_qualname, code.co_firstlineno)) if version else None
        return entry[1] if entry else None

    def _note_origins(self, path, code, qualname, version):
        """Remember the nested code of ``code``, about to be replaced: the
        closures it already made run it, unknown to us until a reload."""
        for key, nested in _function_codes(code, qualname + ".<locals>.").items():
            if key in version.index:
                inner = self.definition(path, key[0], version.index[key].ordinal)
                inner.origins.append(nested)

    def own(self, code, definition):
        """Remember that ``code`` runs ``definition``, for as long as the code lives."""
        key = id(code)
        self._owners[key] = (weakref.ref(code, lambda _, key=key: self._owners.pop(key, None)),
                             definition)

    def owner(self, code):
        """The definition that ``code`` is a version of, or None."""
        entry = self._owners.get(id(code))
        return entry[1] if entry is not None and entry[0]() is code else None

    def definition(self, path, qualname, ordinal):
        key = (path, qualname, ordinal)
        found = self.definitions.get(key)
        if found is None:
            found = self.definitions[key] = _Definition(path, qualname, ordinal)
        return found

    def adopt(self, code, globals_):
        """Instrumented code that came from another process (a function sent
        by value, as Ray and Dask send the functions of ``__main__``): known
        from now on as the definition it runs, found in its file as it is
        here (or as a session's client sent it).  The file's code is the
        definition's current code where it differs: the fix is already in,
        or the code came without its file's name (cloudpickle 3 names it
        ``<dynamic-code>``; the file is the ``__file__`` of its globals).
        None where the file lacks it."""
        if code in self.strangers:
            return None
        path = code.co_filename
        if path.startswith("<"):
            path = globals_.get("__file__") or path
        try:
            version = self.version(path)
        except (ReloadException, OSError, SyntaxError, ValueError):
            version = None
        qualname = getattr(code, "co_qualname", code.co_name)
        keys = [k for k in (version.codes if version else ()) if k[1] == code.co_firstlineno
                and k[0].rpartition(".")[2] == code.co_name and (k[0] == qualname or
                                                                 qualname == code.co_name)]
        if len(keys) != 1:
            self.strangers.add(code)
            return None
        new = version.codes[keys[0]]
        definition = self.owner(new)
        with self.lock:
            self.own(code, definition)
            if definition.code is None:
                same = code.co_filename == path and _fingerprint(code) == _fingerprint(new)
                definition.code = code if same else new
                definition.defaults = version.index[keys[0]].defaults
            for fn in gc.get_referrers(code):
                if type(fn) is types.FunctionType and fn.__code__ is code:
                    definition.functions.add(fn)
        return definition

    def instrument(self, fn, propagated=(), home=None):
        """Give ``fn`` its instrumented code.

        ``home``: a :class:`_Home` that alone holds ``fn``; then ``fn`` is
        replaced there by a new function made from that code, instead of
        having its ``__code__`` assigned (see :class:`_Home`).  Returns None,
        or the :class:`_Refusal` that says why it is left as it is.
        """
        code = fn.__code__
        known = self.owner(code)
        if known is not None:
            known.functions.add(fn)
            known.propagated = tuple(propagated) or known.propagated
            return None
        path = code.co_filename
        try:
            version = self.version(path, getattr(fn, "__globals__", None))
        except ReloadException:
            return _Refusal("no source file for", f"({path})")
        except (OSError, SyntaxError, ValueError) as exc:
            return _Refusal("cannot read the source of", f"in {path} ({exc})")
        key = _definition_key(fn, version.codes)
        new = version.codes.get(key)
        if new is None or not (version.older_than_process or _same_origin(code, new)):
            return _Refusal(f"{path} has changed since",
                            "was loaded (restart the program to wrap it)")
        definition = self.owner(new)
        with self.lock:
            self.replaced.append((code, new))
            self._note_origins(path, code, key[0], version)
            if home is not None:
                fn = home.replace(fn, new)
            else:
                fn.__code__ = new
            _carry_runtime(fn.__globals__)
            definition.code = new
            definition.functions.add(fn)
            definition.defaults = version.index[key].defaults
            if propagated:
                definition.propagated = tuple(propagated)
        return None


class _Refusal(collections.namedtuple("_Refusal", "before after")):
    """Why functions are left as they are, said around their names:
    ``before`` and ``after`` the names (texts, never templates: a path may
    hold braces).  Equal refusals are said once, for all the names."""

    def text(self, names):
        return f"{self.before} {names} {self.after}".strip()


_registry = _Registry()


class _Home:
    """Where a function is kept under a name, and nothing else holds it: a
    module's namespace, or a class's.  There :func:`wrap_module` and
    :func:`wrap_class` put a new function made from the instrumented code,
    with everything of the old one, instead of assigning ``__code__``: on
    3.13 and later, a function whose code was assigned is no longer
    specialized where it is called (CPython issue 117045), and calls to it
    cost more.  Nobody can tell the difference: nothing else held the old
    function.  A reload assigns ``__code__`` as before."""

    __slots__ = ("owner", "key")

    def __init__(self, owner, key):
        self.owner, self.key = owner, key  # a namespace dict, or a class

    @classmethod
    def of(cls, owner, key):
        """The home of the plain function at ``owner[key]`` (a dict or a
        class), if nothing but ``owner`` holds it; else None."""
        namespace = owner if type(owner) is dict else vars(owner)
        if type(namespace.get(key)) is not types.FunctionType:
            return None
        # as many references as a fresh function kept in a dict alone has
        if _references(namespace, key) > _references({key: lambda: None}, key):
            return None
        return cls(owner, key)

    def replace(self, fn, code):
        """Put a function made from ``code`` in ``fn``'s place; returns it
        (``fn`` itself, its code assigned, where it cannot be made)."""
        new = _made_as_def_makes(fn, code)
        if new is None:
            fn.__code__ = code
            return fn
        new.__qualname__, new.__module__, new.__doc__ = (fn.__qualname__, fn.__module__,
                                                         fn.__doc__)
        new.__dict__.update(fn.__dict__)
        annotate = getattr(fn, "__annotate__", None)  # 3.14+: not evaluated here
        if annotate is not None:
            new.__annotate__ = annotate
        else:  # in place: assigning __annotations__ would undo what this is for
            new.__annotations__.update(fn.__annotations__)
        if hasattr(fn, "__type_params__"):
            new.__type_params__ = fn.__type_params__
        if type(self.owner) is dict:
            self.owner[self.key] = new
            return new
        try:
            setattr(self.owner, self.key, new)
        except (TypeError, AttributeError):  # a metaclass that will not have it
            fn.__code__ = code
            return fn
        return new


def _rekey_code_holders():
    """A program may keep code objects in a set or as a dict's keys, and
    ask whether a frame runs one of them: jinja2 hides the frames of its
    ``@internalcode`` functions from the tracebacks it rewrites that way.
    Where a function was given new code (instrumented, or reloaded), the
    new code joins the old one there, found by one look through the heap
    for all of them (a dict that holds nothing but code and strings is not
    in the collector's sight, and is not found); hot-restart's own tables
    are left as they are."""
    with _registry.lock:
        pairs, _registry.replaced = _registry.replaced, []
    if not pairs:
        return
    new_of = dict(pairs)
    ours = {id(v) for holder in (_registry, _stops, _caches) for v in vars(holder).values()}
    ours.update(id(v) for v in globals().values())
    for holder in gc.get_referrers(*new_of):
        if id(holder) in ours or type(holder) not in (set, dict):
            continue
        for old in [c for c in holder if type(c) is types.CodeType and c in new_of]:
            new = new_of[old]
            if type(holder) is set:
                holder.add(new)
            elif new not in holder:
                holder[new] = holder[old]


def _references(namespace, key):
    return sys.getrefcount(namespace[key])


def _made_as_def_makes(fn, code):
    """A new function running ``code``, with ``fn``'s defaults and closure,
    made by the interpreter's own instruction for a ``def`` (MAKE_FUNCTION):
    only that gives a function the version that lets its calls be
    specialized, and assigning its defaults afterwards would take it away.
    A small maker is compiled for the shape (how many defaults, which
    keyword-only ones, which free variables) with a stand-in body, and the
    stand-in's code is swapped for ``code``.  None if the shapes differ."""
    defaults, kwdefaults = fn.__defaults__ or (), fn.__kwdefaults__ or {}
    free = code.co_freevars
    if any(name.startswith("_hot_restart_") for name in (*free, *kwdefaults)):
        return None  # the maker's own names
    shape = (len(defaults), tuple(kwdefaults), free)
    maker = _MAKERS.get(shape)
    if maker is None:
        maker = _MAKERS[shape] = _maker(*shape)
    stand_in = next(c for c in maker.co_consts if isinstance(c, types.CodeType))
    if stand_in.co_freevars != free:
        return None
    maker = maker.replace(co_consts=tuple(code if c is stand_in else c
                                          for c in maker.co_consts))
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    make = types.FunctionType(maker, fn.__globals__, "_hot_restart_make",
                              closure=tuple(cells[name] for name in maker.co_freevars))
    return make(*defaults, *kwdefaults.values())


_MAKERS = {}  # (defaults, keyword-only names, free variables) -> a maker's code


def _maker(defaults, keywords, free):
    """The code of ``make(defaults..., keyword defaults...)``, which defines
    and returns a function of that shape; see :func:`_made_as_def_makes`."""
    given = ([f"_hot_restart_d{i}" for i in range(defaults)]
             + [f"_hot_restart_k{i}" for i in range(len(keywords))])
    parameters = [f"_hot_restart_p{i}=_hot_restart_d{i}" for i in range(defaults)]
    if keywords:
        parameters += ["*"] + [f"{name}=_hot_restart_k{i}" for i, name in enumerate(keywords)]
    # every name of its own starts with _hot_restart_: a free variable of the
    # function (a decorator's ``f``) must not be bound by the maker itself
    lines = ["def _hot_restart_outer():",
             f"    {' = '.join(free)} = None" if free else "    pass",
             f"    def _hot_restart_make({', '.join(given)}):",
             f"        def _hot_restart_f({', '.join(parameters)}):",
             f"            {', '.join(free) or 'pass'}",
             "        return _hot_restart_f",
             "    return _hot_restart_make"]
    outer = compile("\n".join(lines), "<hot-restart maker>", "exec").co_consts[0]
    return next(c for c in outer.co_consts if isinstance(c, types.CodeType))


def _definition_key(fn, codes):
    """``(qualified name, first line)`` of the definition ``fn`` was made
    from.  The code's own name, not ``__qualname__``, which ``functools.wraps``
    copies from the function a decorator wraps."""
    code = fn.__code__
    qualname = getattr(code, "co_qualname", None)  # 3.11+
    if qualname is None:
        qualname = fn.__qualname__
        if qualname.rpartition(".")[2] != code.co_name:  # copied: find the def by its line
            same = [q for q, line in codes if line == code.co_firstlineno
                    and q.rpartition(".")[2] == code.co_name]
            qualname = same[0] if len(same) == 1 else qualname
    return (qualname, code.co_firstlineno)


###############################################################################
# Reload
###############################################################################

def _rewrite_super(body, fn, owner):
    """Turn ``super()`` into an explicit two-argument form.

    Used when reloaded code starts calling ``super()`` but the live function
    has no ``__class__`` cell to give it.  The class is found again at call
    time from the first argument's type, by qualified name.
    """
    params = fn.args.posonlyargs + fn.args.args
    if not params or owner is None:
        return
    first = params[0].arg
    for node in _walk_own_scope(body):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "super" and not node.args and not node.keywords):
            at = _Maker.like(node.func)
            node.func = at.name(_SUPER)
            node.args = [at(ast.Constant, value=owner), at.name(first)]


def _free_placeholder(name):
    """The constant that stands for the holder of free variable ``name`` in
    code compiled by :func:`_read_through`, until :func:`_bind_free` puts the
    holder there."""
    return "\0hot-restart free " + name


def _read_through(fn, names, scopes):
    """Make ``fn`` read and write the free variables ``names`` through a
    holder instead of a cell: ``y`` becomes ``<holder>.value`` (in nested
    scopes too, unless they bind ``y`` themselves), and ``nonlocal y`` goes.

    Used when a fix starts using variables of the enclosing function that
    the running closure does not have: a closure cannot grow, but its code
    can read them some other way.
    """
    stack = [(fn, set(names))]
    while stack:
        node, visible = stack.pop()
        if node is not fn and isinstance(node, _FUNCS + (ast.Lambda,)) and node in scopes:
            visible = visible - scopes[node].locals
        elif isinstance(node, _COMPS):
            visible = visible - {n.id for g in node.generators for n in ast.walk(g.target)
                                 if isinstance(n, ast.Name)}
        for field, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for i, child in enumerate(items):
                if not isinstance(child, ast.AST):
                    continue
                if isinstance(child, ast.Nonlocal) and visible & set(child.names):
                    kept = [n for n in child.names if n not in visible]
                    value[i] = _Maker.like(child).place(
                        ast.Nonlocal(names=kept) if kept else ast.Pass())
                elif isinstance(child, ast.Name) and child.id in visible:
                    at = _Maker.like(child)
                    holder = at(ast.Constant, value=_free_placeholder(child.id))
                    child = at(ast.Attribute, value=holder, attr="value", ctx=child.ctx)
                    if isinstance(value, list):
                        value[i] = child
                    else:
                        setattr(node, field, child)
                else:
                    stack.append((child, visible))


def _surrogate(node, ancestors, scopes):
    """A module holding only ``node`` inside copies of its enclosing scopes.

    Classes keep their names, so private names mangle and ``__class__``
    exists; functions keep their parameters and bind their other locals, so
    closures compile to the same free variables.  Nothing else of the
    module is there, and it is never executed.  (``from __future__``
    imports are passed as compiler flags.)
    """
    inner = node
    for anc in reversed(ancestors):
        if isinstance(anc, ast.ClassDef):
            copy = ast.ClassDef(name=anc.name, bases=[], keywords=[], body=[inner],
                                decorator_list=[])
            if sys.version_info >= (3, 12):
                copy.type_params = []
        else:
            scope = scopes[anc]
            binds = []
            if scope.declared_nonlocal:
                binds.append(ast.Nonlocal(names=sorted(scope.declared_nonlocal)))
            if scope.declared_global:
                binds.append(ast.Global(names=sorted(scope.declared_global)))
            names = sorted(scope.locals - set(scope.params))
            if names:
                binds.append(ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store()) for n in names],
                                        value=ast.Constant(None)))
            copy = type(anc)(name=anc.name, args=anc.args, body=binds + [inner],
                             decorator_list=[], returns=None, type_comment=None)
            if sys.version_info >= (3, 12):
                copy.type_params = []
        _Maker.like(anc).place(copy)
        for stmt in copy.body:
            _Maker(anc.lineno, anc.col_offset).fill(stmt)
        inner = copy
    return ast.Module(body=[inner], type_ignores=[])


def _compile_unit(key, node, ancestors, flags, path, wrapped, old_free, prepare=None,
                  lines=None, through=()):
    """Compile one definition again, inside its surrogate.

    Returns ``(code, [])``, or ``(None, names)`` when the new code needs
    free variables (``names``) that the running closure does not have.
    ``wrapped``: instrument it (and the functions inside it); ``old_free``:
    the free variables the running closure has, which the new code must
    keep and may not exceed; ``through``: free variables to read through
    holders instead (:func:`_read_through`).
    """
    qualname = key[0]
    scopes = {}
    outer = next((a for a in ancestors if isinstance(a, _FUNCS)), None)
    _analyze(outer or node, scopes)
    if wrapped and not _instrumentable(node, scopes[node]):
        wrapped = False  # its body is only a docstring: nothing there can fail
    first = _first_line(node)
    extra = []
    for rewrite in (False, True):
        candidate = copy.deepcopy(node)
        if prepare is not None:
            prepare(ast.Module(body=[candidate], type_ignores=[]), "".join(lines))
        if through:
            own_scopes = {}
            _analyze(candidate, own_scopes)
            _read_through(candidate, through, own_scopes)
        if rewrite:
            _rewrite_super(candidate.body, candidate, qualname.rpartition(".")[0])
        if wrapped:
            inner_scopes = {}
            _analyze(candidate, inner_scopes)
            for anc in ancestors:
                if anc in scopes:
                    inner_scopes[anc] = scopes[anc]
            own = [(qualname, key[1], candidate, ancestors)]
            sep = ".<locals>." if isinstance(candidate, _FUNCS) else "."
            own += _definitions_in(candidate.body, qualname + sep, ancestors + (candidate,), {})
            keep = {qualname: [v for v in old_free or () if v != "__class__" or not rewrite]}
            _instrument_all(own, inner_scopes, keep_free=keep,
                            loops=_settings.loops.targets_in(path))
        module = compile(_surrogate(candidate, ancestors, scopes), path, "exec",
                         flags=flags, dont_inherit=True)
        code = _function_codes(module).get((qualname, first))
        extra = [v for v in code.co_freevars if old_free is not None and v not in old_free]
        if not extra:
            return code, []
        if extra != ["__class__"] or not ancestors or not isinstance(ancestors[-1], ast.ClassDef):
            break
    return None, extra


def _new_defaults(fn, node, lines, definition):
    """The default values of the new definition.

    A default whose source text is unchanged keeps its current value (a
    mutable default keeps what it holds); a new or edited one is evaluated
    in the function's globals.
    """
    code = fn.__code__
    old = {}
    positional = code.co_varnames[:code.co_argcount]
    values = fn.__defaults__ or ()
    texts, kwtexts = definition.defaults or ([], {})
    if len(texts) != len(values):
        texts = [None] * len(values)
    for name, value, text in zip(positional[len(positional) - len(values):], values, texts):
        old[name] = (text, value)
    for name, value in (fn.__kwdefaults__ or {}).items():
        old[name] = (kwtexts.get(name), value)

    def value_of(name, expr):
        text = _segment(lines, expr)
        old_text, old_value = old.get(name, (None, _MISSING))
        if text == old_text and old_value is not _MISSING:
            return old_value
        try:
            return ast.literal_eval(expr)
        except ValueError:
            pass
        return eval(compile(ast.Expression(expr), definition.path, "eval"), fn.__globals__)

    args = node.args
    params = args.posonlyargs + args.args
    defaults = tuple(value_of(a.arg, e) for a, e in
                     zip(params[len(params) - len(args.defaults):], args.defaults))
    kwdefaults = {a.arg: value_of(a.arg, e)
                  for a, e in zip(args.kwonlyargs, args.kw_defaults) if e is not None}
    return defaults or None, kwdefaults or None, _default_texts(lines, node)


def _describe_syntax_error(exc):
    where = f"{_short(exc.filename or '?')}, line {exc.lineno}"
    if exc.offset:
        where += f", column {exc.offset}"
    text = (exc.text or "").rstrip("\n")
    caret = ""
    if text and exc.offset:
        caret = "\n    " + " " * (exc.offset - 1 - (len(text) - len(text.lstrip()))) + "^"
    shown = f"\n    {text.strip()}{caret}" if text else ""
    return f"SyntaxError in {where}: {exc.msg}{shown}"


#: What a reload found about one definition (``name``) or the module's own
#: statements: ``kind`` is one of the event kinds below, ``detail`` says more
#: (why it was not applied, what changed, which lines).  The planners return
#: events; :func:`_describe_reloads` alone turns them into the report.
_Event = collections.namedtuple("_Event", "kind name detail")

_CHANGED = "changed"            # new code in place
_SAME = "same"                  # recompiled, and it does the same
_MOVED = "moved"                # only its lines moved: the same code, at its new lines
_ADDED = "added"                # a new function or class, defined in the live module or class
_REMOVED = "removed"            # gone from the file: its old code stays in use
_NOT_APPLIED = "not applied"    # detail: why the new code cannot replace the running one
_NOT_DEFINED = "not defined"    # added, but cannot be defined; detail: why
_NEEDS_RELOAD = "needs reload_module"  # detail: what changed (decorators, a class body...)
_NOT_RERUN = "not re-run"       # module-level statements changed; detail: their lines
_ASSIGNED = "assigned"          # a simple assignment applied in the live module or class
_IMPORTED = "imported"          # a new or changed import statement, run in the live module
_READS = "reads"                # closures made before the fix read the free variables it
                                # added from elsewhere; detail: ((name, source or None), ...)


class _FileReload:
    """What a reload found in one file, decided before anything is applied.

    ``events``: a list of :data:`_Event`; ``actions``: callables that put
    the new code in place, run only when every changed file compiled;
    ``error``: why nothing can be applied.
    """

    def __init__(self, state, stamp=None, lines=None, outline=None, error=None, tree=None):
        self.state, self.stamp, self.lines, self.outline = state, stamp, lines, outline
        self.tree = tree  # the statements parsed for the plan (see _plan_file)
        self.events, self.actions = [], []
        self.error = error

    def events_for(self, name):
        return [e for e in self.events
                if e.kind == _ASSIGNED and e.name.startswith(name + ".")]


class _FullParse(Exception):
    """Parsing only the changed region was not enough: parse the whole file."""


def _unreadable(path):
    """Why the file ``path`` has no lines to read now, and what to do."""
    import tokenize
    name = _short(path)
    try:
        with tokenize.open(path) as f:  # as Python reads source: its encoding line
            if not f.read():
                return f"{name} is empty now; save it again with its code"
    except FileNotFoundError:
        return f"{name} is gone (deleted or moved); put it back"
    except UnicodeDecodeError as exc:
        with open(path, "rb") as f:
            line = f.read()[:exc.start].count(b"\n") + 1
        return (f"cannot read {name}: line {line} is not {exc.encoding} (byte "
                f"{exc.object[exc.start:exc.start + 1]!r}); save the file as UTF-8, or "
                f"declare its encoding on its first line (# -*- coding: latin-1 -*-)")
    except (OSError, SyntaxError) as exc:
        return f"cannot read {name}: {exc}"
    return f"cannot read {name} any more"


def _scan(state, only=None):
    """Compare ``state``'s file on disk with the code that runs: a _FileReload or None."""
    path = state.path
    stamp = _stamp(path)
    if stamp == state.stamp:
        return None
    linecache.checkcache(path)
    lines = linecache.getlines(path)
    if not lines:
        return _FileReload(state, error=_unreadable(path))
    try:
        try:
            outline, nodes, region = _reparse(state, lines)
            return _plan_file(state, stamp, lines, outline, nodes, region, only)
        except _FullParse:  # a new plan, from the whole file
            tree = _read_tree(path, lines)
            outline = _outline(tree.body, lines, flags=_future_flags(tree))
            nodes = {(q, o): (node, anc) for q, o, node, anc in _definitions(tree)}
            return _plan_file(state, stamp, lines, outline, nodes, tree, only)
    except SyntaxError as exc:
        if exc.lineno and 0 < exc.lineno <= len(lines):  # the text parsed, not the file's
            exc.text = lines[exc.lineno - 1]
        return _FileReload(state, error=_describe_syntax_error(exc))


def _reparse(state, lines):
    """Parse only the top-level statements that differ from the running text.

    The lines before and after the edit are the same as in the running
    version, so their part of the outline is reused (moved by the number of
    lines added or removed).  Returns ``(outline, nodes, region)``, where
    ``nodes`` has the definitions of the parsed ``region`` (a module of the
    statements parsed, at their lines in the file); raises _FullParse when
    the region does not parse on its own.
    """
    old_lines, old = state.lines, state.outline
    if not old_lines:
        raise _FullParse
    n_old, n_new = len(old_lines), len(lines)
    same = min(n_old, n_new)
    p = 0
    while p < same and old_lines[p] == lines[p]:
        p += 1
    q = 0
    while q < same - p and old_lines[n_old - 1 - q] == lines[n_new - 1 - q]:
        q += 1
    start, end = p + 1, max(n_old - q, p)
    # The statements the edit touches, and the ones right next to it: lines
    # added at the end of a block, or a decorator added above a function,
    # belong to their neighbour.
    low, high = start - 1, end + 1
    for first, last in old["tops"]:
        if first <= high and last >= low:
            start, end = min(start, first), max(end, last)
    delta = n_new - n_old
    try:
        region = ast.parse("".join(lines[start - 1:end + delta]))
    except SyntaxError:
        raise _FullParse from None
    ast.increment_lineno(region, start - 1)

    counts, remap = {}, {}
    defs = {}
    statements = {None: [e for e in old["statements"][None] if e[1] < start]}
    tops = [t for t in old["tops"] if t[0] < start]
    flags = _future_flags(region) if start == 1 else old["flags"]
    new = None
    for key, (kind, parent, first, text, head) in old["defs"].items():
        if first < start:
            defs[key] = _Def(kind, parent, first, text, head)
            counts[key[0]] = key[1] + 1
            if key in old["statements"]:
                statements[key] = old["statements"][key]
            continue
        if new is None:
            new = _outline(region.body, lines, counts)
        if first > end:
            ordinal = counts.get(key[0], 0)
            counts[key[0]] = ordinal + 1
            remap[key] = moved = (key[0], ordinal)
            defs[moved] = _Def(kind, remap.get(parent, parent), first + delta, text, head)
            if key in old["statements"]:
                statements[moved] = [(crc, line + delta) for crc, line in
                                     old["statements"][key]]
    if new is None:
        new = _outline(region.body, lines, counts)
    # the region's definitions go between those before and after it
    ordered = {k: v for k, v in defs.items() if v.first < start}
    ordered.update(new["defs"])
    ordered.update((k, v) for k, v in defs.items() if v.first > end + delta)
    statements.update((k, v) for k, v in new["statements"].items() if k is not None)
    statements[None] += new["statements"][None] + [
        (crc, line + delta) for crc, line in old["statements"][None] if line > end]
    tops += new["tops"] + [(a + delta, b + delta) for a, b in old["tops"] if a > end]
    nodes = {(q, o): (node, anc)
             for q, o, node, anc in _definitions_in(region.body, "", (), _counts_before(
                 ordered, start))}
    outline = {"defs": ordered, "statements": statements, "tops": tops, "flags": flags}
    return outline, nodes, region


def _counts_before(defs, line):
    counts = {}
    for (qualname, ordinal), value in defs.items():
        if value.first < line:
            counts[qualname] = ordinal + 1
    return counts


def _plan_file(state, stamp, lines, outline, nodes, tree, only):
    """What changed between the running outline and the new one: a new
    _FileReload.  ``nodes`` has the parsed definitions (raises _FullParse if
    one is missing), ``tree`` the statements parsed (the changed ones, or
    the whole file)."""
    found = _FileReload(state, stamp, lines, outline, tree=tree)
    path = state.path
    old_defs, old_statements = state.outline["defs"], state.outline["statements"]
    new_defs, new_statements = found.outline["defs"], found.outline["statements"]
    flags = found.outline["flags"]
    covered = set()  # keys recompiled as part of an enclosing unit

    for key, new in new_defs.items():
        kind, parent, first, text, head = new
        old = old_defs.get(key)
        if parent in covered or (only is not None and key != only.key):
            covered.add(key)
            continue
        if old is None:
            if parent is None or new_defs[parent].kind == "class":
                _plan_added(found, key, _node(nodes, key), lines, flags)
            continue
        if old.kind != kind or old.head != head:
            what = "decorators or bases changed" if old.kind == kind else f"now a {kind}"
            found.events.append(_Event(_NEEDS_RELOAD, key[0], what))
            covered.add(key)
            continue
        if kind == "class":
            continue
        definition = _registry.definitions.get((path,) + key)
        live = definition is not None and (definition.code is not None
                                           or len(definition.functions))
        if old.text != text and live:
            _plan_changed(found, key, definition, _node(nodes, key), lines, flags)
            covered.add(key)
        elif old.first != first and live:
            found.events.append(_Event(_MOVED, key[0], first - old.first))
            found.actions.append(functools.partial(_shift_definition, definition,
                                                   first - old.first, found))
            covered.add(key)

    if only is None:
        for key, old in old_defs.items():
            if key not in new_defs and (old.parent is None
                                        or old_defs[old.parent].kind == "class"):
                found.events.append(_Event(_REMOVED, key[0], None))
        for body, entries in new_statements.items():
            if body is not None and body not in old_statements:
                continue
            before = [crc for crc, _ in old_statements.get(body, ())]
            changed = []
            for crc, line in entries:
                if crc in before:
                    before.remove(crc)
                else:
                    changed.append(line)
            if changed and (body is None or len(before) <= len(changed)):
                changed = _plan_assignments(found, body, changed)
            if body is None:
                if changed:
                    found.events.append(_Event(_NOT_RERUN, None, tuple(changed)))
            elif changed or len(before) > 0 and not found.events_for(body[0]):
                # a dataclass field, a removed attribute, a statement that is
                # not a plain assignment...
                where = ", ".join(map(str, changed)) or "removed lines"
                found.events.append(_Event(_NEEDS_RELOAD, body[0],
                                           f"class body changed ({where})"))
    return found


def _plan_assignments(found, body, lines):
    """Changed or added assignments of simple values (literals, names,
    arithmetic: no call) in the module's statements (``body`` None) or a
    plain class's body: assigned in the live module or class.  Returns the
    lines of the other statements, which are not re-run."""
    state = found.state
    namespace = state.namespace or _any_globals(state.path)
    owner = None
    if body is not None:
        owner = _class_by_name(namespace, body[0])
        if owner is None or type(owner) is not type or any(
                "__dataclass_fields__" in vars(k) for k in owner.__mro__):
            return lines  # an Enum's members, a dataclass's fields...
    if namespace is None:
        return lines
    statements = {}  # the changed statements are among those parsed for the plan
    for node in ast.walk(found.tree):
        if isinstance(node, (ast.Module, ast.ClassDef)):
            for stmt in node.body:
                statements.setdefault(stmt.lineno, stmt)
    rest = []
    for line in lines:
        stmt = statements.get(line)
        if body is None and isinstance(stmt, (ast.Import, ast.ImportFrom)) and (
                not isinstance(stmt, ast.ImportFrom) or stmt.module != "__future__"):
            # a fix that needs a module: the import statement runs in the module
            names = [(a.asname or a.name).partition(".")[0] for a in stmt.names]
            missing = _missing_module(stmt)
            if missing:
                found.events.append(_Event(_NOT_APPLIED, ", ".join(names),
                                           f"there is no module named {missing!r}"))
                continue
            found.events.append(_Event(_IMPORTED, ", ".join(names), line))
            found.actions.append(functools.partial(
                exec, compile(ast.Module([stmt], []), state.path, "exec"), namespace))
            continue
        targets = _assigned_names(stmt, module_level=body is None)
        if targets is None:
            rest.append(line)
            continue
        found.events.append(_Event(_ASSIGNED, ", ".join(
            targets if owner is None else (f"{body[0]}.{t}" for t in targets)), line))
        found.actions.append(functools.partial(_assign, stmt, targets, namespace, owner,
                                               state.path))
    return rest


def _missing_module(stmt):
    """The module an import statement names that cannot be found, or None."""
    if isinstance(stmt, ast.ImportFrom):
        modules = [stmt.module] if stmt.level == 0 and stmt.module else []
    else:
        modules = [a.name for a in stmt.names]
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def _assigned_names(stmt, module_level):
    """The names a simple assignment binds, or None for any other statement."""
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and module_level and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    else:
        return None
    if not all(isinstance(t, ast.Name) for t in targets) or not _simple_value(value):
        return None
    return [t.id for t in targets]


_SIMPLE = (ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp, ast.BinOp, ast.BoolOp,
           ast.Compare, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Subscript, ast.Slice,
           ast.IfExp, ast.Load, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)


def _simple_value(node):
    """A value computed without calling anything: literals, names, arithmetic."""
    return all(isinstance(n, _SIMPLE) for n in ast.walk(node))


def _class_by_name(namespace, qualname):
    obj = None
    for part in qualname.split("."):
        if part == "<locals>" or namespace is None:
            return None
        obj = namespace.get(part) if obj is None else vars(obj).get(part)
        if not isinstance(obj, type):
            return None
    return obj


def _assign(stmt, targets, namespace, owner, path):
    """Run one simple assignment in the live module, or class (whose body's
    names come first, as in the class statement)."""
    local = dict(vars(owner)) if owner is not None else None
    value = eval(compile(ast.Expression(stmt.value), path, "eval"), namespace, local)
    for name in targets:
        if owner is None:
            namespace[name] = value
        else:
            setattr(owner, name, value)


def _node(nodes, key):
    if key not in nodes:
        raise _FullParse
    return nodes[key]


def _plan_changed(found, key, definition, parsed, lines, flags):
    node, ancestors = parsed
    path = found.state.path
    old = definition.code
    code, _ = _compile_unit(key, node, ancestors, flags, path, True,
                            old.co_freevars if old is not None else (),
                            found.state.prepare, lines)
    if code is None:  # it needs variables the running closures lack: see _plan_remap
        code, _ = _compile_unit(key, node, ancestors, flags, path, True, None,
                                found.state.prepare, lines)
    remaps = {}
    for inner, inner_code, inner_node, inner_ancestors in _affected(
            found, definition, code, node, ancestors):
        remap = _plan_remap(found, inner, inner_code, inner_node, inner_ancestors, lines, flags)
        if remap is not None:
            if remap.templates:
                remaps[inner] = remap
                found.events.append(_Event(_READS, inner.qualname, remap.sources()))
            else:
                found.events.append(_Event(_NOT_APPLIED, inner.qualname, remap.why))
                if inner is definition:
                    return
    changed = (old is None or _fingerprint(code) != _fingerprint(old)
               or definition.defaults not in (None, _default_texts(lines, node)))
    found.events.append(_Event(_CHANGED if changed else _SAME, key[0], None))
    found.actions.append(functools.partial(_apply_changed, definition, code, node, lines,
                                           found, remaps))


def _affected(found, definition, code, node, ancestors):
    """``definition`` and the live definitions nested in it, each with its
    code inside the new ``code``, its node and its ancestors."""
    yield definition, code, node, ancestors
    firsts = {(q, d.first): o for (q, o), d in found.outline["defs"].items()}
    codes = _function_codes(code, definition.qualname + ".<locals>.")
    for qualname, _, inner_node, inner_ancestors in _definitions_in(
            node.body, definition.qualname + ".<locals>.", ancestors + (node,), {}):
        first = _first_line(inner_node)
        ordinal = firsts.get((qualname, first))
        inner = _registry.definitions.get((definition.path, qualname, ordinal))
        if inner is not None and (qualname, first) in codes and len(inner.functions):
            yield inner, codes[(qualname, first)], inner_node, inner_ancestors


def _apply_changed(definition, code, node, lines, found, remaps):
    updates = [(fn, _new_defaults(fn, node, lines, definition))
               for fn in list(definition.functions)]
    old = definition.code
    _registry.own(code, definition)
    for inner, remap in remaps.items():
        inner.remap = remap
    definition.assign(code)
    definition.changed_defaults = {}
    for fn, (defaults, kwdefaults, texts) in updates:
        definition.changed_defaults.update(_changed_defaults(fn, defaults, kwdefaults))
        fn.__defaults__, fn.__kwdefaults__ = defaults, kwdefaults
        definition.defaults = texts
    _adopt_nested(definition, code, found)
    if old is not None:
        _replace_in_parent(definition, old, code)


def _plan_remap(found, definition, code, node, ancestors, lines, flags):
    """When some functions of ``definition`` have closures that lack free
    variables its new ``code`` needs (the fix starts using a variable of
    the enclosing function): a :class:`_Remap` that runs the new code in
    them anyway.  None when every closure has what the new code needs."""
    groups = {}
    for fn in list(definition.functions):
        free = fn.__code__.co_freevars
        if any(name not in free for name in code.co_freevars):
            groups.setdefault(free, []).append(fn)
    if not groups:
        return None
    parent = next((a for a in reversed(ancestors) if isinstance(a, _FUNCS)), None)
    remap = _Remap(definition, parent)
    previous = definition.remap.holders if definition.remap is not None else {}
    for free, fns in groups.items():
        through = _missing_free(code, free)
        template, extra = _compile_unit(definition.key, node, ancestors, flags,
                                        definition.path, True, free, found.state.prepare,
                                        lines, through)
        if template is None:
            remap.why = (f"it now needs {', '.join(extra)}, which the running closure "
                         f"cannot have; restart the enclosing function")
            return remap
        remap.templates[free] = template
        for fn in fns:
            remap.holders[fn] = remap.find(through, fn.__closure__ or (), fn,
                                           previous=previous.get(fn))
    return remap


def _missing_free(code, free):
    """The free variables of ``code`` that a closure with ``free`` lacks and
    that a holder can give (``__class__`` is rewritten instead)."""
    return [n for n in code.co_freevars if n not in free and n != "__class__"]


class _Free:
    """Where code compiled by :func:`_read_through` reads and writes a free
    variable that its closure lacks: the cell of another closure made by
    the same call, the enclosing function's frame (still running, or as it
    ended), a value fixed by the enclosing function's code, or nothing
    (reading raises NameError saying why).  ``source`` says which."""

    __slots__ = ("name", "cell", "frame", "source", "missing")

    def __init__(self, name, source, cell=None, frame=None, missing=None):
        self.name, self.source, self.cell, self.frame = name, source, cell, frame
        self.missing = missing

    @property
    def value(self):
        if self.cell is not None:
            try:
                return self.cell.cell_contents
            except ValueError:
                pass
        elif self.frame is not None:
            values = self.frame.f_locals
            if self.name in values:
                return values[self.name]
        else:
            raise NameError(self.missing)
        raise NameError(f"cannot access free variable {self.name!r} where it is not "
                        f"associated with a value in enclosing scope")

    @value.setter
    def value(self, value):
        if self.cell is None and self.frame is not None:
            _set_frame_local(self.frame, self.name, value)
            return
        if self.cell is None:
            self.cell = types.CellType()
        self.cell.cell_contents = value

    @value.deleter
    def value(self):
        _ = self.value  # unbound: NameError, as for a cell
        if self.cell is None:  # the frame keeps its own binding
            self.cell, self.frame = types.CellType(), None
        else:
            del self.cell.cell_contents


def _set_frame_local(frame, name, value):
    """Bind a local variable of a running frame (``nonlocal`` in code that
    reads it through a :class:`_Free`)."""
    frame.f_locals[name] = value  # 3.13: written through to the frame
    if sys.version_info < (3, 13):
        import ctypes  # only here: the snapshot dict must be copied back
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))


class _Remap:
    """How the functions of one definition whose closures lack free
    variables of its new code run that code anyway: a template per closure
    shape (its ``co_freevars``), compiled to read the missing ones through
    :class:`_Free` holders, and each function's holders."""

    def __init__(self, definition, parent):
        self.definition = definition
        self.enclosing = definition.qualname.rpartition(".<locals>.")[0]
        self.constants = _fixed_values(parent) if parent is not None else {}
        self.templates = {}
        self.holders = weakref.WeakKeyDictionary()
        self.why = None

    def sources(self):
        """``((name, source or None), ...)``: where the functions read each
        variable; None when one of them cannot have it."""
        found = {}
        for holders in self.holders.values():
            for name, holder in holders.items():
                if name not in found or holder.source is None:
                    found[name] = holder.source
        return tuple(sorted(found.items()))

    def find(self, names, cells, fn=None, near=None, previous=None):
        """A :class:`_Free` for each of ``names``, for the closure ``fn``
        (or the call that failed at the frame below ``near``) with ``cells``."""
        holders = {n: h for n, h in (previous or {}).items() if n in names}
        todo = [n for n in names if n not in holders]
        frame = _enclosing_frame(self, cells, fn, near) if todo else None
        siblings = _sibling_cells(cells) if todo and frame is None and cells else {}
        caller = f"{self.enclosing.rpartition('.')[2]}()"
        for name in todo:
            if frame is not None and name in _local_names(frame.f_code):
                holders[name] = _Free(name, f"the running {caller}", frame=frame)
            elif name in siblings:
                holders[name] = _Free(name, f"another closure of the same {caller} call",
                                      cell=siblings[name])
            elif name in self.constants:
                holders[name] = _Free(name, f"{caller}'s code",
                                      cell=types.CellType(self.constants[name]))
            elif frame is not None:  # the running call's code never binds it
                holders[name] = _Free(name, None, missing=(
                    f"{name!r} is new in {caller}: the call of {caller} that made this "
                    f"{self.definition.qualname} still runs the code from before the fix, "
                    f"which never binds {name!r}; let that call end (q) or restart it (up, "
                    f"then retry) to run the new code"))
            else:
                holders[name] = _Free(name, None, missing=(
                    f"{name!r} of {caller} is not available to this {self.definition.qualname}: "
                    f"it was made by a call of {caller} that ended before the fix using "
                    f"{name!r} was loaded; call {caller} again to make a new one"))
        return holders

    def code_for(self, fn):
        """The template for ``fn``'s closure, bound to its holders; None
        when it has none."""
        template, holders = self.templates.get(fn.__code__.co_freevars), self.holders.get(fn)
        if template is None or holders is None:
            return None
        return self.bind(template, holders)

    def bind(self, template, holders):
        code = _bind_free(template, holders)
        _registry.own(code, self.definition)
        return code


def _bind_free(code, holders):
    """``code`` with each free-variable placeholder replaced by its holder,
    in the code nested inside it too."""
    prefix = _free_placeholder("")
    consts = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            const = _bind_free(const, holders)
        elif type(const) is str and const.startswith(prefix):
            const = holders[const[len(prefix):]]
        consts.append(const)
    return code.replace(co_consts=tuple(consts))


def _fixed_values(fn):
    """``{name: value}`` for the locals of function node ``fn`` bound once,
    by a top-level assignment of a literal: their value is known without
    the frame."""
    counts = collections.Counter()
    for node in _walk_own_scope(fn.body):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            counts[node.id] += 1
        elif type(node) in _DEFS:
            counts[node.name] += 1
    for name in _param_names(fn.args):
        counts[name] += 1
    values = {}
    for stmt in fn.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name) and counts[stmt.targets[0].id] == 1):
            try:
                values[stmt.targets[0].id] = ast.literal_eval(stmt.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                pass
    return values


def _enclosing_frame(remap, cells, fn, near):
    """The frame of the enclosing function's call that made the closure
    ``fn`` (with ``cells``), if it is on a stack: below ``near`` first (the
    failed call's callers), then every thread's.  A frame made it when the
    function is one of its locals, or when the closure's variables are
    its locals' very objects."""
    definition = remap.definition
    free = fn.__code__.co_freevars if fn is not None else ()
    contents = {}
    for name, cell in zip(free, cells):
        try:
            contents[name] = cell.cell_contents
        except ValueError:
            pass

    def made(frame, sure):
        if frame.f_code.co_filename != definition.path or \
                _code_qualname(frame.f_code) != remap.enclosing:
            return False
        values = frame.f_locals
        if any(values.get(n, _MISSING) is not v for n, v in contents.items()):
            return False
        # the function is one of its locals, itself or inside a decorator's
        return not sure or bool(contents) or any(
            v is fn or callable(v) and fn in _innermost(v) for v in values.values())

    frame = near.f_back if near is not None else None
    while frame is not None:
        if made(frame, fn is not None):
            return frame
        frame = frame.f_back
    return next((f for f in _every_frame() if made(f, True)), None)


def _code_qualname(code):
    owner = _registry.owner(code)
    return owner.qualname if owner is not None else getattr(code, "co_qualname", code.co_name)


def _sibling_cells(cells):
    """``{name: cell}`` from the other closures that share one of ``cells``
    (made by the same call of the enclosing function)."""
    ids = {id(c) for c in cells}
    found = {}
    for closure in gc.get_referrers(*cells):
        if type(closure) is not tuple or not any(id(c) in ids for c in closure):
            continue
        for fn in gc.get_referrers(closure):
            if type(fn) is types.FunctionType and fn.__closure__ is closure:
                found.update(zip(fn.__code__.co_freevars, closure))
    return found


def _changed_defaults(fn, defaults, kwdefaults):
    """``{parameter: (old value, new value)}`` for the defaults of ``fn`` that
    the new ``defaults`` and ``kwdefaults`` replace by another object."""
    code = fn.__code__
    positional = code.co_varnames[:code.co_argcount]
    old = dict(zip(positional[len(positional) - len(fn.__defaults__ or ()):],
                   fn.__defaults__ or ()))
    old.update(fn.__kwdefaults__ or {})
    new = dict(zip(positional[len(positional) - len(defaults or ()):], defaults or ()))
    new.update(kwdefaults or {})
    return {name: (value, new[name]) for name, value in old.items()
            if name in new and new[name] is not value}


def _adopt_nested(definition, code, found):
    """Register the functions compiled inside ``code``; closures made earlier
    from a changed or moved nested definition run its new code."""
    path = definition.path
    old_defs, new_defs = found.state.outline["defs"], found.outline["defs"]
    firsts = {(q, d.first): o for (q, o), d in new_defs.items()}
    prefix = definition.qualname + ".<locals>."
    for (qualname, first), nested in _function_codes(code, prefix).items():
        ordinal = firsts.get((qualname, first))
        if ordinal is None:
            continue
        inner = _registry.definition(path, qualname, ordinal)
        _registry.own(nested, inner)
        if old_defs.get((qualname, ordinal)) != new_defs[(qualname, ordinal)]:
            inner.assign(nested)
        else:
            inner.code = nested


def _replace_in_parent(definition, old, new):
    """Let the enclosing function make its future closures from the new code."""
    qualname, sep, _ = definition.qualname.rpartition(".<locals>.")
    if not sep:
        return
    for key, parent in list(_registry.definitions.items()):
        if key[0] == definition.path and key[1] == qualname and parent.code is not None \
                and old in parent.code.co_consts and old.co_freevars == new.co_freevars:
            consts = tuple(new if c is old else c for c in parent.code.co_consts)
            replaced = parent.code.replace(co_consts=consts)
            _registry.own(replaced, parent)
            parent.assign(replaced)


def _shift(code, delta):
    """``code`` and the code inside it, ``delta`` lines further down the file."""
    consts = tuple(_shift(c, delta) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + delta, co_consts=consts)


def _shift_definition(definition, delta, found):
    """A definition that only moved: the same code, at its new lines."""
    if definition.code is None:
        return
    code = _shift(definition.code, delta)
    _registry.own(code, definition)
    definition.assign(code)
    _adopt_nested(definition, code, found)


def _plan_added(found, key, parsed, lines, flags):
    """A new function or class: defined into the live module or class."""
    node, ancestors = parsed
    state = found.state
    namespace = state.namespace or _any_globals(state.path)
    owner = _live_class(namespace, ancestors) if ancestors else None
    if namespace is None or (ancestors and owner is None):
        found.events.append(_Event(_NOT_DEFINED, key[0], "its module or class is not reachable"))
        return
    if isinstance(node, ast.ClassDef) and ancestors:
        found.events.append(_Event(_NOT_DEFINED, key[0], "it is a class inside a class"))
        return
    wrapped = state.module_wrapped or key[0].rpartition(".")[0] in state.wrapped_classes
    found.events.append(_Event(_ADDED, key[0], None))
    found.actions.append(functools.partial(_define, key, node, ancestors, namespace, owner,
                                           wrapped, lines, flags, found))


def _any_globals(path):
    for (where, _, _), definition in list(_registry.definitions.items()):
        if where == path:
            for fn in list(definition.functions):
                return fn.__globals__
    return None


def _live_class(namespace, ancestors):
    obj = None
    for anc in ancestors:
        if not isinstance(anc, ast.ClassDef):
            return None
        obj = namespace.get(anc.name) if obj is None else vars(obj).get(anc.name)
        if not isinstance(obj, type):
            return None
    return obj


def _define(key, node, ancestors, namespace, owner, wrapped, lines, flags, found):
    """Run just the new definition: its def (or class) statement and decorators."""
    path = found.state.path
    if isinstance(node, ast.ClassDef):
        # A new class is made by its own statement, compiled alone: nothing
        # else of the module runs.
        exec(compile(_surrogate(node, (), {}), path, "exec", flags=flags, dont_inherit=True),
             namespace)
        if wrapped:
            wrap_class(namespace[node.name])
        return
    code, _ = _compile_unit(key, node, ancestors, flags, path, wrapped, None,
                            found.state.prepare, lines)
    closure = None
    if code.co_freevars:
        if code.co_freevars != ("__class__",) or owner is None:
            raise ReloadException(f"{key[0]} was added inside a function; restart the "
                                  f"enclosing function to use it")
        closure = (types.CellType(owner),)
    defaults, kwdefaults, texts = _evaluate_defaults(node, lines, namespace, path)
    fn = types.FunctionType(code, namespace, node.name, defaults, closure)
    fn.__kwdefaults__ = kwdefaults
    fn.__qualname__ = key[0]
    fn.__doc__ = ast.get_docstring(node)
    if wrapped:
        definition = _registry.definition(path, *key)
        _registry.own(code, definition)
        definition.code, definition.defaults = code, texts
        definition.functions.add(fn)
        _adopt_nested(definition, code, found)
    made = fn
    local = dict(vars(owner)) if owner is not None else None
    for decorator in reversed(node.decorator_list):
        made = eval(compile(ast.Expression(decorator), path, "eval"), namespace, local)(made)
    if owner is None:
        namespace[node.name] = made
    else:
        setattr(owner, node.name, made)


def _evaluate_defaults(node, lines, namespace, path):
    args = node.args

    def value(expr):
        try:
            return ast.literal_eval(expr)
        except ValueError:
            return eval(compile(ast.Expression(expr), path, "eval"), namespace)

    defaults = tuple(value(e) for e in args.defaults) or None
    kwdefaults = {a.arg: value(e) for a, e in zip(args.kwonlyargs, args.kw_defaults)
                  if e is not None} or None
    return defaults, kwdefaults, _default_texts(lines, node)


def _reload_files(only=None):
    """Reload every changed file with instrumented code; all or nothing.

    ``only``: a definition; then only it (and what it contains) reloads.
    Returns the list of _FileReload, one per changed file.
    """
    session = _session.get()
    if session is not None and session.streams is not None:
        _settings.elsewhere.take_sources(session)
    with _registry.lock:
        states = list(_registry.files.values())
        if only is not None:
            states = [s for s in states if s.path == only.path]
        found = [f for f in (_scan(s, only) for s in states) if f is not None]
        if any(f.error for f in found):
            return found
        if found:  # the verdicts kept may name what the new code binds anew
            _caches.forget_verdicts()
            _letters.drop()
        for f in found:
            for action in f.actions:
                try:
                    action()
                except Exception as exc:  # running a new definition's own statement
                    f.events.append(_Event(_NOT_APPLIED, None, f"{type(exc).__name__}: {exc}"))
            if only is None:
                f.state.stamp, f.state.outline, f.state.lines = f.stamp, f.outline, f.lines
        _rekey_code_holders()
        return found


def _unwrapped_modules():
    """``(name, path)`` of the imported modules (not the standard library's or
    site-packages') whose code is not wrapped and not yet reported."""
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (path and path.endswith(".py") and path not in _registry.files and path != __file__
                and path not in _stops.unwrapped_reported
                and not _installed(os.path.realpath(path))):
            yield name, path


def _note_unwrapped_stamps():
    """As a session opens: what the files of the modules that are not
    wrapped look like now, so that an edit made during the session is
    known for one, however soon after the start it comes."""
    known = _stops.unwrapped_stamps
    for _, path in _unwrapped_modules():
        if path not in known:
            known[path] = _stamp(path)


def _unwrapped_changes():
    """A notice for the files of imported modules (not the standard library's
    or site-packages') edited since the program started whose code is not
    wrapped, so that an edit there is not silently ignored; None if none.
    Each file is reported once.  Edited: changed since a session noted it
    (see :func:`_note_unwrapped_stamps`), or saved more than a second after
    the start (the start time is known to a second)."""
    started = _process_start()
    names = []
    for name, path in _unwrapped_modules():
        stamp = _stamp(path)
        noted = _stops.unwrapped_stamps.get(path)
        if stamp is None or stamp.origin is not _Origin.DISK:
            continue
        if (noted is not None and stamp != noted) or (
                started is not None and stamp.written_after(started + 1)):
            _stops.unwrapped_reported.add(path)
            names.append((name, path))
    if not names:
        return None
    listed = ", ".join(_short(path) for _, path in names)
    patterns = " ".join(f"--wrap '{name}'" for name, _ in names)
    return _notice(f"{listed} changed, but its code is not wrapped, so the edit is not "
                   f"loaded; restart the program with {patterns} (or call "
                   f"hot_restart.wrap_module() on it) to include it")


class _Reloaded:
    """One reload and its report: ``found`` (a :class:`_FileReload` per
    changed file), ``message`` (the one-line report, or None when nothing
    changed), ``errors`` (why nothing was applied, if so)."""

    __slots__ = ("found", "message", "errors")

    def __init__(self, found, again):
        self.found = found
        self.message = _describe_reloads(found, again)
        self.errors = [f.error for f in found if f.error]

    @property
    def changed(self):
        """Did a definition that runs get new code?"""
        return any(e.kind == _CHANGED for f in self.found for e in f.events)


_AGAIN_IN_THE_DEBUGGER = "type c again, or q to let the error propagate"


def _reload(only=None, again=_AGAIN_IN_THE_DEBUGGER):
    """Reload what changed on disk (see :func:`_reload_files`), and say so:
    the one step of every way to reload (continue, the debugger's reload
    and restart, :func:`reload`, the watcher, :func:`patch`); ``again``
    tells how to try again where it is said."""
    return _Reloaded(_reload_files(only), again)


def _describe_reloads(found, again=_AGAIN_IN_THE_DEBUGGER):
    """The report: one line per changed file, or the errors that stopped it
    all (``again`` says how to try again in the debugger at hand)."""
    errors = [f.error for f in found if f.error]
    if errors:
        return "\n".join(f"*** {e}" for e in errors) + (
            f"\n*** Nothing was reloaded and the old code is still in force. Fix the file "
            f"and {again}.")
    lines = []
    for f in found:
        text = "; ".join(filter(None, [
            ", ".join(filter(None, (_describe_event(e) for e in f.events
                                    if e.kind != _NOT_RERUN))),
            *(_describe_event(e) for e in f.events if e.kind == _NOT_RERUN)]))
        if text:
            lines.append(f"> reloaded {_short(f.state.path)}: {text}")
    return "\n".join(lines) or None


_RELOAD_MODULE = "hot_restart.reload_module()"


def _describe_reads(detail):
    if not isinstance(detail, tuple):
        return None
    parts = [f"{name} from {source}" for name, source in detail if source]
    missing = [name for name, source in detail if not source]
    said = f"reads {', '.join(parts)}" if parts else ""
    if missing:
        said += ("; " if said else "") + (
            f"{', '.join(missing)} not available to the closures made before this reload "
            f"(calling them raises a NameError that says why)")
    return said


def _describe_event(event):
    """One event of a reload, as the report says it (None: not said)."""
    kind, name, detail = event
    if kind == _NOT_RERUN:
        numbers = ", ".join(str(n) for n in sorted(detail))
        return f"line{'s' if len(detail) > 1 else ''} {numbers} (module level) changed, not re-run"
    what = {
        _CHANGED: "changed",
        _ADDED: "added",
        _ASSIGNED: "assigned",
        _IMPORTED: "imported",
        _REMOVED: "removed from the file; its old code stays in use",
        _NOT_APPLIED: f"not applied: {detail}",
        _READS: _describe_reads(detail),
        _NEEDS_RELOAD: f"{detail}: not applied; {_RELOAD_MODULE} applies it",
        _NOT_DEFINED: f"added, but not defined: {detail}; {_RELOAD_MODULE} defines it",
    }.get(kind)
    if what is None:
        return None
    return f"{name} ({what})" if name else what


###############################################################################
# The catchers: what may handle an exception, one kind each
###############################################################################

# Would a caller catch it?  The callers' frames are asked, innermost first,
# and in each frame the things that may catch an exception coming out of the
# call it is making, innermost first.  Each kind of catcher is a small object
# with one question, ``catches(etype, frame, below)``: does it handle an
# exception of type ``etype`` coming out of ``below`` (the callee's frame; None
# for a suspended generator or coroutine)?  The answers:
#
#   True     it is handled there and the program goes on: no stop
#   False    it passes on to the next catcher out
#   a type   the handler raises an exception of that type instead, and the
#            next catcher out is asked about that one
#   None     that cannot be told: stop (losing a crash is worse than a stop)
#   _CRASH   a catch-all that only reports it (a thread's end, a test
#            runner, the program's end): stop

class _Crash(enum.Enum):
    """The answer of a catch-all that only reports (see above)."""
    CRASH = "crash"


_CRASH = _Crash.CRASH


class _Action(enum.Enum):
    """What the body of an except clause does with what it caught."""
    HANDLES = "handles"        # it raises nothing: handled
    RERAISES = "re-raises"     # it ends raising what it caught
    RAISES = "raises"          # it ends raising another exception, of a known type
    MAY_RAISE = "may raise"    # it may raise or not: counted as handled


class _Clause:
    """One except clause: the expression of the type it catches (None: a
    bare except), its :class:`_Action`, and the expression of the type it
    raises instead, when its action is RAISES."""

    __slots__ = ("type_expr", "action", "raised")

    def __init__(self, type_expr, action, raised=None):
        self.type_expr, self.action, self.raised = type_expr, action, raised


class _Catcher:
    """What every catcher has: ``concerns``, the exceptions it may answer for
    at all (None: any), so that the others are not asked; and ``fixed(code,
    frame)``: does its answer depend only on the code, the instruction and
    the exception's type, not on the frame's values?  Then it is kept."""

    __slots__ = ()
    concerns = None
    is_fixed = False

    def fixed(self, code, frame):
        return self.is_fixed


class _CatchAll(_Catcher):
    """A frame of the runtime or of a test runner that catches everything to
    report it: an exception that reaches it ends a thread, a test or the program."""

    __slots__ = ()
    is_fixed = True

    def catches(self, etype, frame, below):
        return _CRASH


class _TestCall(_CatchAll):
    """pytest calling a test function: a crash, unless the test is expected
    to fail with this exception (``xfail``, as pytest evaluated it for this
    run; not under ``--runxfail``), which pytest reports as ``xfailed``."""

    __slots__ = ()
    is_fixed = False

    def catches(self, etype, frame, below):
        item = frame.f_locals.get("pyfuncitem")
        skipping = sys.modules.get("_pytest.skipping")
        if item is None or skipping is None or item.config.getoption("runxfail", False):
            return _CRASH
        xfailed = item.stash.get(skipping.xfailed_key, None)
        if xfailed is None or xfailed.raises is not None and not issubclass(etype, xfailed.raises):
            return _CRASH
        return True


class _TaskStep(_Catcher):
    """asyncio running one step of a task: the exception goes to whoever
    awaits the task, so the question goes on there (see :func:`_awaiters`)."""

    __slots__ = ()

    def catches(self, etype, frame, below):
        asyncio = sys.modules.get("asyncio")
        try:
            task = asyncio.current_task()
        except (AttributeError, RuntimeError):
            task = None
        if task is None:  # a plain callback: the loop's exception handler reports it
            return _CRASH
        return _awaiters(task, etype)


class _FutureWork(_Catcher):
    """A ``concurrent.futures`` thread running one work item: the exception
    goes into the item's future, and is raised again where its result is
    asked for.  A thread that waits for that result now is asked from
    there; one waiting in ``as_completed`` or ``wait`` cannot tell yet.
    With nobody waiting, the code that holds the future is read for where
    it will ask (see :func:`_later_reader`).  A program that has not got
    hold of its future yet because it is still submitting (a list of
    ``pool.submit(...)``), or is asking for the results of others first,
    is given a moment; no other is waited for."""

    __slots__ = ()

    def catches(self, etype, frame, below):
        future = getattr(frame.f_locals.get("self"), "future", None)
        if future is None:  # 3.14's WorkerContext.run, called by the work item's
            return False
        import time
        deadline = time.monotonic() + 0.25
        while True:
            verdict = _waiter_verdict(future, etype)
            if verdict is _NOBODY:
                verdict = _later_reader(future, etype)
            if verdict is not _NOBODY:
                return verdict
            # with nobody to read it, the future keeps it, as it does
            # without hot-restart; a program still submitting is given a
            # moment (see _still_submitting); any other is not (one that polls
            # future.done() meanwhile would see its work unfinished)
            if time.monotonic() > deadline or not _still_submitting():
                return True
            time.sleep(0.01)


_NOBODY = object()


def _still_submitting():
    """Is another thread submitting work to an executor, or asking for
    results, from code that asks for futures' results (``futures =
    [pool.submit(...) ...]`` then ``[f.result() for f in futures]``)?
    Then the failed work's own turn may come next.  Its frames are followed
    out of the standard library (the executor, threading) to the code that
    called ``submit`` or ``result``, or that is on a line calling
    ``submit``; that code, or the function around its comprehension, must
    name ``result``.  Code that polls ``done()`` instead is not waited for."""
    me = threading.get_ident()
    for ident, frame in sys._current_frames().items():
        inside, f = False, frame
        while f is not None and f.f_code.co_filename.startswith(_STDLIB) \
                and "site-packages" not in f.f_code.co_filename:
            inside = inside or f.f_code.co_name in ("submit", "result")
            f = f.f_back
        if ident == me or f is None or not inside and ".submit(" not in linecache.getline(
                f.f_code.co_filename, f.f_lineno):
            continue
        for g in (f, f.f_back if f.f_code.co_name.startswith("<") else None):
            code = g.f_code if g is not None else None
            if code is not None and ("result" in code.co_names or any(
                    isinstance(c, types.CodeType) and "result" in c.co_names
                    for c in code.co_consts)):
                return True
    return False


def _waiter_verdict(future, etype):
    """The verdict of a thread waiting for ``future`` now; _NOBODY if none is."""
    for f in _every_frame():
        code = f.f_code
        if os.path.basename(code.co_filename) == "_base.py" and code.co_name in (
                "result", "exception", "as_completed", "wait"):
            owner = f.f_locals.get("self")
            if code.co_name == "result" and owner is future:
                verdict, _ = _above(etype, f)
                return _CRASH if verdict is False else verdict
            if code.co_name == "exception" and owner is future:
                return True  # returned, not raised
            if future in (f.f_locals.get("fs") or ()):
                return None
    return _NOBODY


def _later_reader(future, etype):
    """Nobody waits for ``future`` yet: will the code that holds it ask for
    its result, and would it catch the exception there?  The frames of the
    other threads that hold it (in a local, or in a list, tuple, set or
    dict of one) are read: where one asks for a ``result`` (in its code, or
    in a comprehension of it), the question goes on from there; where it
    only asks for the ``exception``, the future keeps it (True); _NOBODY
    where no frame holds it."""
    executor = os.path.dirname(sys.modules["concurrent.futures"].__file__)
    for frame in _every_frame():
        where = frame.f_code.co_filename  # (the executor's own submit holds it too)
        if where == __file__ or where.startswith(executor) or not any(
                value is future or type(value) in (list, tuple, set, dict) and future in (
                    value.values() if type(value) is dict else value)
                for value in frame.f_locals.values()):
            continue
        code, at = frame.f_code, None
        for ins in dis.get_instructions(code):
            if ins.argval == "result" and ins.opname.startswith(("LOAD_ATTR", "LOAD_METHOD")):
                at = ins.offset if ins.offset >= frame.f_lasti or at is None else at
        nested = any(isinstance(c, types.CodeType) and "result" in c.co_names
                     for c in code.co_consts)
        if at is None and not nested:
            return True
        catchers = _catchers_at(code, frame.f_lasti if at is None else at)
        verdict = _ask(catchers, etype, frame, None)[0] if catchers else False
        if verdict is False:
            verdict, _ = _above(etype, frame)
        return _CRASH if verdict is False else verdict
    return _NOBODY


class _ExceptClauses(_Catcher):
    """The except clauses of one try statement, in order (:class:`_Clause`):
    each a type expression (None for a bare ``except:``) and what its body
    does with the exception (:class:`_Action`): it handles it, re-raises it,
    raises another (of the type of ``raised``), or may raise (a raise under a
    condition, or of a type that cannot be known: it counts as handled, and
    if it does raise, the next wrapped function out decides again)."""

    __slots__ = ("clauses",)

    def __init__(self, clauses):
        self.clauses = clauses

    def fixed(self, code, frame):
        """When every type, and every type raised instead, is a global name
        (or attributes of one) of the code's, not a local."""
        local = _local_names(code)
        return all(_global_reference(expr, local) for clause in self.clauses
                   for expr in (clause.type_expr, clause.raised))

    def catches(self, etype, frame, below):
        for clause in self.clauses:
            if clause.type_expr is not None and not issubclass(
                    etype, _as_tuple(_evaluate(clause.type_expr, frame))):
                continue
            if clause.action is _Action.RERAISES:
                return False
            if clause.action is _Action.RAISES:
                new = _evaluate(clause.raised, frame)
                if isinstance(new, BaseException):
                    return type(new)
                if isinstance(new, type) and issubclass(new, BaseException):
                    return new
            return True
        return False


class _Manager(_Catcher):
    """One context manager of a with statement, known by what it is:
    ``contextlib.suppress``, ``pytest.raises``, ``assertRaises``, or a
    ``@contextmanager`` generator that catches the exception at its yield;
    also one chosen by a conditional expression on a plain test
    (``pytest.raises(E) if E else nullcontext()``).  Any other context
    manager lets exceptions through."""

    __slots__ = ("expr", "func", "args", "kwargs", "test", "branches")

    def __init__(self, node, path):
        self.expr = self.func = self.args = self.kwargs = self.test = self.branches = None
        if isinstance(node, ast.IfExp) and _plain(node.test):
            self.test = _expression(node.test, path)
            self.branches = (_Manager(node.body, path), _Manager(node.orelse, path))
        elif isinstance(node, ast.Call):
            if _reference(node.func):
                self.func = _expression(node.func, path)
                self.args = [_expression(a, path) if _plain(a) else None for a in node.args]
                self.kwargs = {k.arg: _expression(k.value, path) if _plain(k.value) else None
                               for k in node.keywords if k.arg is not None}
        elif _reference(node):
            self.expr = _expression(node, path)

    def fixed(self, code, frame):
        """A global reference (``with Parser.cache_lock:``) to an object of a
        kind that swallows nothing, as its answer was just now: if the
        program later binds that name to one that swallows, the cost of the
        kept answer is a stop where nothing crashed, never a crash missed."""
        if self.expr is None or not _global_reference(self.expr, _local_names(code)):
            return False
        try:
            cls = type(_evaluate(self.expr, frame))
        except Exception:
            return False
        return cls.__module__ != "contextlib" and (cls.__module__, cls.__qualname__) \
            not in _SUPPRESSING

    def catches(self, etype, frame, below):
        if self.test is not None:
            branch = self.branches[0] if _evaluate(self.test, frame) else self.branches[1]
            return branch.catches(etype, frame, below)
        if self.expr is not None:
            return _object_suppresses(_evaluate(self.expr, frame), etype)
        if self.func is None:
            return False
        func = _evaluate(self.func, frame)
        which = _suppressor_arguments(func)
        if which is None:
            helper = _contextmanager_generator(func)
            if helper is None:
                return False
            return _generator_catches(helper, self, frame, etype)
        exprs = self.args if which == "all" else self.args[:1]
        if None in exprs:
            return None
        types_ = tuple(t for expr in exprs for t in _as_tuple(_evaluate(expr, frame)))
        return issubclass(etype, types_)


class _Iteration(_Catcher):
    """A step of iteration (a for loop, unpacking, ``in``, ``list(...)``) over
    an object that has only ``__getitem__``: its IndexError ends the iteration."""

    __slots__ = ()
    concerns = IndexError

    def catches(self, etype, frame, below):
        return below is not None and below.f_code.co_name == "__getitem__"


class _CCall(_Catcher):
    """A C function that swallows an exception from the Python code it calls:
    ``hasattr``, ``getattr(o, name, default)``, ``next(it, default)``..."""

    __slots__ = ("caught",)
    is_fixed = True

    def __init__(self, caught):
        self.caught = caught

    def catches(self, etype, frame, below):
        return issubclass(etype, self.caught)


class _Attributes(_Catcher):
    """An AttributeError the runtime takes for an answer.  From a property or
    ``__getattribute__`` while an attribute is read (``loading``), Python calls
    the class's ``__getattr__`` instead.  From a ``__getattr__`` asked for a
    special name (``__all__``, ``__path__``, ``__reduce_ex__``...) by the
    import system, pickle or copy, it means "there is none"."""

    __slots__ = ("loading",)
    concerns = AttributeError

    def __init__(self, loading):
        self.loading = loading

    def catches(self, etype, frame, below):
        if below is None:
            return False
        code = below.f_code
        if code.co_name == "__getattr__":
            if self.loading or not code.co_argcount:
                return False
            name = below.f_locals.get(code.co_varnames[code.co_argcount - 1])
            return isinstance(name, str) and name.startswith("__") and name.endswith("__")
        if not self.loading or not code.co_argcount:
            return False
        obj = below.f_locals.get(code.co_varnames[0], _MISSING)
        # the class's own __getattr__, not its metaclass's (Enum's, on 3.10-3.11)
        return obj is not _MISSING and any("__getattr__" in vars(k) for k in type(obj).__mro__)


_CATCH_ALL, _TASK_STEP, _FUTURE_WORK = _CatchAll(), _TaskStep(), _FutureWork()
_TEST_CALL = _TestCall()
_ITERATION = _Iteration()
_LOADING, _NOT_LOADING = _Attributes(True), _Attributes(False)

class _FlaskDispatch(_Catcher):
    """Flask dispatching a request (``full_dispatch_request``): a crash,
    which Flask would answer with a 500, unless it is an HTTP error that
    Flask answers itself (``abort(404)``) or the app has an error handler
    for its type."""

    __slots__ = ()

    def catches(self, etype, frame, below):
        app = frame.f_locals["self"]
        http = sys.modules.get("werkzeug.exceptions")
        if http is not None and issubclass(etype, http.HTTPException) \
                and not app.config.get("TRAP_HTTP_EXCEPTIONS"):
            return True
        exc_class, code = app._get_exc_class_and_code(etype)
        blueprints = sys.modules["flask"].request.blueprints
        for c in (code, None) if code is not None else (None,):
            for name in (*blueprints, None):
                handlers = app.error_handler_spec[name][c]
                if handlers and any(k in handlers for k in exc_class.__mro__):
                    return True
        return _CRASH


class _StarletteHandlers(_Catcher):
    """Starlette (FastAPI) calling an app with its exception handlers
    (``wrapped_app``): a crash, which its error middleware answers with a
    500, unless a handler is registered for the type (``HTTPException``
    always is)."""

    __slots__ = ()

    def catches(self, etype, frame, below):
        handlers = frame.f_locals.get("exception_handlers") or {}
        return True if any(k in handlers for k in etype.__mro__) else _CRASH


class _WorkerThread(_Catcher):
    """anyio running a function in a worker thread for a coroutine that
    awaits it (``to_thread.run_sync``: FastAPI's plain ``def`` endpoints):
    the exception goes into the future the coroutine awaits, so the
    question goes on there (see :func:`_awaiters`)."""

    __slots__ = ()

    def catches(self, etype, frame, below):
        future = frame.f_locals.get("future")
        return _CRASH if future is None else _awaiters(future, etype)


class _DjangoResponse(_Catcher):
    """Django getting a view's response (``_get_response``; and each
    middleware's ``convert_exception_to_response``): a crash, which Django
    answers with a 500, unless it is one of the exceptions Django turns
    into a 4xx answer itself (``Http404``, ``PermissionDenied``,
    ``BadRequest``, ``SuspiciousOperation``, a bad multipart request)."""

    __slots__ = ()

    def catches(self, etype, frame, below):
        return True if issubclass(etype, _loaded_types(_DJANGO_4XX)) else _CRASH


_DJANGO_4XX = (("django.http", "Http404"), ("django.core.exceptions", "PermissionDenied"),
               ("django.core.exceptions", "BadRequest"),
               ("django.core.exceptions", "SuspiciousOperation"),
               ("django.http.multipartparser", "MultiPartParserError"))

class _CeleryTrace(_Catcher):
    """Celery running a task (``trace_task``): a crash, which it would
    record as the task's failure, unless it is the task's own control flow
    (``self.retry()``'s ``Retry``, ``Ignore``, ``Reject``)."""

    __slots__ = ()

    def catches(self, etype, frame, below):
        return True if issubclass(etype, _loaded_types(_CELERY_FLOW)) else _CRASH


_CELERY_FLOW = tuple(("celery.exceptions", n) for n in ("Retry", "Ignore", "Reject"))


def _loaded_types(names):
    """The classes named ``(module, name)``, of the modules already imported."""
    return tuple(getattr(sys.modules[m], n) for m, n in names
                 if m in sys.modules and hasattr(sys.modules[m], n))


_FLASK_DISPATCH, _STARLETTE_HANDLERS = _FlaskDispatch(), _StarletteHandlers()
_WORKER_THREAD, _DJANGO_RESPONSE = _WorkerThread(), _DjangoResponse()
_CELERY_TRACE = _CeleryTrace()

# Frames of the runtime, of test runners and of servers that catch
# everything to report it and go on (a thread ends, a test fails, a request
# gets a 500): an exception that reaches one is a crash.  By file and
# function name, with the package folder the file must be in (None: the
# standard library), and the catcher that decides (most: _CATCH_ALL; some
# look further).  hot_restart.catch_all() adds others or switches these off.
_CATCH_ALLS = {
    ("python.py", "pytest_pyfunc_call"): ("_pytest", _TEST_CALL),
    ("fixtures.py", "call_fixture_func"): ("_pytest", _CATCH_ALL),
    ("fixtures.py", "_teardown_yield_fixture"): ("_pytest", _CATCH_ALL),
    ("case.py", "_callTestMethod"): (None, _CATCH_ALL),
    ("_asyncio.py", "_run_tests_and_fixtures"): ("anyio", _CATCH_ALL),
    ("_trio.py", "_run_tests_and_fixtures"): ("anyio", _CATCH_ALL),
    ("_asyncio.py", "run"): ("anyio", _WORKER_THREAD),
    ("threading.py", "_bootstrap_inner"): (None, _CATCH_ALL),
    ("threading.py", "run"): (None, _CATCH_ALL),
    ("events.py", "_run"): (None, _TASK_STEP),
    ("tasks.py", "__step"): (None, _TASK_STEP),
    ("tasks.py", "__step_run_and_handle_result"): (None, _TASK_STEP),
    ("thread.py", "run"): (None, _FUTURE_WORK),
    ("process.py", "_process_worker"): (None, _CATCH_ALL),
    ("pool.py", "worker"): (None, _CATCH_ALL),
    # Dask's workers: a task's error is sent to the client, the next task runs
    ("worker.py", "_run_task_simple"): ("distributed", _CATCH_ALL),
    ("worker.py", "_run_task_async"): ("distributed", _CATCH_ALL),
    ("runpy.py", "_run_code"): (None, _CATCH_ALL),
    ("runpy.py", "_run_module_as_main"): (None, _CATCH_ALL),
    # servers: socketserver (http.server too) and wsgiref answer a request
    # that raised with an error and serve the next; so do Werkzeug's
    # development server, Flask, Starlette (FastAPI), uvicorn and Django
    ("socketserver.py", "_handle_request_noblock"): (None, _CATCH_ALL),
    ("socketserver.py", "process_request_thread"): (None, _CATCH_ALL),
    ("handlers.py", "run"): (None, _CATCH_ALL),
    ("serving.py", "run_wsgi"): ("werkzeug", _CATCH_ALL),
    ("app.py", "full_dispatch_request"): ("flask", _FLASK_DISPATCH),
    ("_exception_handler.py", "wrapped_app"): ("starlette", _STARLETTE_HANDLERS),
    ("h11_impl.py", "run_asgi"): ("uvicorn", _CATCH_ALL),
    ("httptools_impl.py", "run_asgi"): ("uvicorn", _CATCH_ALL),
    ("base.py", "_get_response"): ("django", _DJANGO_RESPONSE),
    ("base.py", "_get_response_async"): ("django", _DJANGO_RESPONSE),
    ("exception.py", "inner"): ("django", _DJANGO_RESPONSE),
    # a task worker: Celery records the failure and takes the next task
    ("trace.py", "trace_task"): ("celery", _CELERY_TRACE),
    # IPython running a cell: it shows the traceback and prompts again
    ("interactiveshell.py", "run_code"): ("IPython", _CATCH_ALL),
}

_STDLIB = os.path.dirname(os.__file__)

# C functions that swallow an exception raised by the Python code they call,
# with the number of arguments they need for it.
_C_CATCHERS = {
    "hasattr": (AttributeError, 2), "getattr": (AttributeError, 3),
    "next": (StopIteration, 2), "isinstance": (AttributeError, 2),
    "issubclass": (AttributeError, 2),
}
# Calls that run ``__getitem__`` for an item, not to iterate.
_GETITEMS = {"__getitem__", "getitem"}
# Instructions that iterate, read an attribute, or call.
_ITERATING = {"FOR_ITER", "UNPACK_SEQUENCE", "UNPACK_EX", "CONTAINS_OP", "LIST_EXTEND",
              "SET_UPDATE", "CALL_FUNCTION_EX"}
_ATTRIBUTE_LOADS = {"LOAD_ATTR", "LOAD_METHOD", "LOAD_SUPER_ATTR"}
_CALLS = {"CALL", "PRECALL", "CALL_FUNCTION", "CALL_METHOD", "CALL_FUNCTION_KW", "CALL_KW"}


def _ask(catchers, etype, frame, below):
    for catcher in catchers:
        concerns = catcher.concerns
        if concerns is not None and not issubclass(etype, concerns):
            continue
        try:
            answer = catcher.catches(etype, frame, below)
        except Exception:
            return None, etype
        if isinstance(answer, type):
            etype = answer
        elif answer is not False:
            return answer, etype
    return False, etype


def _awaiters(future, etype, depth=0):
    """Who awaits ``future``, and would they handle an exception of type
    ``etype`` from it?  A task's awaiter is asked at the await it is
    suspended in; ``run_until_complete`` (``asyncio.run``) hands it to its
    caller, further out on the stack being searched; ``gather`` with
    ``return_exceptions=True`` handles it.  Anything else: a crash."""
    callbacks = getattr(future, "_callbacks", None)
    if not callbacks or depth > 32:
        return _CRASH
    callback = callbacks[0][0]
    name = getattr(callback, "__name__", "")
    if name == "_run_until_complete_cb":
        return False
    owner = getattr(callback, "__self__", None)
    if name.endswith("wakeup") and hasattr(owner, "get_coro"):
        verdict, etype = _search(etype, _suspended(owner.get_coro()))
        return _awaiters(owner, etype, depth + 1) if verdict is False else verdict
    cells = _closure_values(callback)
    if "return_exceptions" in cells and "outer" in cells:
        return True if cells["return_exceptions"] else _awaiters(cells["outer"], etype, depth + 1)
    return _CRASH


def _suspended(coro):
    """The frames of a suspended coroutine and of those it awaits, innermost first."""
    frames = []
    while coro is not None and len(frames) < 256:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames[::-1]


def _closure_values(fn):
    code, closure = getattr(fn, "__code__", None), getattr(fn, "__closure__", None) or ()
    values = {}
    for name, cell in zip(code.co_freevars if code else (), closure):
        with contextlib.suppress(ValueError):
            values[name] = cell.cell_contents
    return values


def _evaluate(expr, frame):
    """The value of an expression in ``frame``, as :func:`_expression` made
    it: a name, a dotted reference (a tuple of names), a tuple of those (a
    list), all looked up without building the frame's locals when they are
    not locals; or compiled code."""
    kind = type(expr)
    if kind is type or kind is tuple and type(expr[0]) is type:  # the types themselves
        return expr
    if kind is str:
        if expr in _local_names(frame.f_code):
            return frame.f_locals[expr]
        found = frame.f_globals.get(expr, _MISSING)
        return found if found is not _MISSING else frame.f_builtins[expr]
    if kind is tuple:
        value = _evaluate(expr[0], frame)
        for name in expr[1:]:
            if name.startswith("__"):  # self.__lock, in a class: self._Class__lock
                name = _mangle(name, _enclosing_class(frame.f_code))
            value = getattr(value, name)
        return value
    if kind is list:
        return tuple(_evaluate(item, frame) for item in expr)
    return eval(expr, frame.f_globals, frame.f_locals)


def _enclosing_class(code):
    """The name of the class nearest around ``code``'s function (whose
    private names it mangles), from its qualified name; None if none."""
    parts = _code_qualname(code).split(".")
    for i in range(len(parts) - 2, -1, -1):
        if "<locals>" not in (parts[i], parts[i + 1]):
            return parts[i]
    return None


def _global_reference(expr, local):
    """Is ``expr`` (from :func:`_expression`) None, or names only globals?"""
    kind = type(expr)
    if expr is None or kind is type or kind is tuple and type(expr[0]) is type:
        return True
    if kind is str:
        return expr not in local
    if kind is tuple:
        return expr[0] not in local
    if kind is list:
        return all(_global_reference(e, local) for e in expr)
    return False


def _local_names(code):
    """The names local to ``code`` (3.11+ builds ``co_varnames`` anew at each look)."""
    names = _caches.local_names.get(code)
    if names is None:
        names = _caches.local_names.keep(code, frozenset(
            code.co_varnames + code.co_cellvars + code.co_freevars))
    return names


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


# Context managers that swallow the exceptions they are given: the class, and
# the attribute of an instance that holds the types.
_SUPPRESSING = {
    ("contextlib", "suppress"): "_exceptions",
    ("unittest.case", "_AssertRaisesContext"): "expected",
    ("_pytest.raises", "RaisesExc"): "expected_exceptions",
    ("_pytest.python_api", "RaisesContext"): "expected_exception",
    ("_pytest.raises", "RaisesContext"): "expected_exception",
}
# Functions that return one, by name: pytest.raises, TestCase.assertRaises...
_SUPPRESSING_CALLS = {"raises", "assertRaises", "assertRaisesRegex"}


def _suppressor_arguments(func):
    """Which arguments of a call of ``func`` name the exception types the
    context manager it returns swallows: ``all``, ``first``, or None."""
    if isinstance(func, type):
        key = (func.__module__, func.__qualname__)
        return None if key not in _SUPPRESSING else "all" if func is contextlib.suppress \
            else "first"
    return "first" if getattr(func, "__name__", None) in _SUPPRESSING_CALLS else None


def _object_suppresses(obj, etype):
    cls = type(obj)
    attribute = _SUPPRESSING.get((cls.__module__, cls.__qualname__))
    if attribute is not None:
        return issubclass(etype, _as_tuple(getattr(obj, attribute)))
    generator = getattr(obj, "gen", None) if cls.__module__ == "contextlib" else None
    frame = getattr(generator, "gi_frame", None) or getattr(generator, "ag_frame", None)
    if frame is None:
        return False
    return _answer(*_search(etype, [frame]), etype)  # the generator, suspended at its yield


def _answer(verdict, new, etype):
    """A generator's verdict as a context manager's answer: a type it raises
    instead when it passes a new exception on, else the verdict."""
    return (new if new is not etype else False) if verdict is False else verdict


def _contextmanager_generator(func):
    """The generator function behind a ``@contextmanager`` function, or None."""
    inner = getattr(func, "__func__", func)
    code = getattr(inner, "__code__", None)
    wrapped = getattr(inner, "__wrapped__", None)
    if code is None or wrapped is None or os.path.basename(code.co_filename) != "contextlib.py":
        return None
    return wrapped if hasattr(wrapped, "__code__") else None


class _StaticFrame:
    """What :func:`_evaluate` needs of a frame, for a generator not yet
    running: its function's globals, and its arguments as locals."""

    __slots__ = ("f_code", "f_globals", "f_locals", "f_builtins")

    def __init__(self, fn, arguments):
        self.f_code, self.f_globals, self.f_locals = fn.__code__, fn.__globals__, arguments
        self.f_builtins = builtins.__dict__


def _generator_catches(fn, manager, frame, etype):
    """Would the ``@contextmanager`` generator ``fn``, called with the
    arguments of ``manager`` and suspended at its yield, catch the
    exception?  Read from its source, with the arguments evaluated in
    ``frame``.  With yields in several branches, they must all agree."""
    code = fn.__code__
    tree = _tree_of(code)
    node = tree and tree.get((code.co_name, code.co_firstlineno))
    yields = [n for n in _walk_own_scope(node.body)
              if isinstance(n, ast.Yield)] if isinstance(node, _FUNCS) else []
    if not yields:
        return None
    values = [_evaluate(a, frame) if a is not None else _MISSING for a in manager.args]
    bound = getattr(_evaluate(manager.func, frame), "__self__", _MISSING)
    if bound is not _MISSING:
        values.insert(0, bound)
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    arguments = dict(zip(names[len(names) - len(fn.__defaults__ or ()):code.co_argcount],
                         fn.__defaults__ or ()))
    arguments.update(fn.__kwdefaults__ or {})
    arguments.update(zip(names, values))
    for name, expr in manager.kwargs.items():
        arguments[name] = _evaluate(expr, frame) if expr is not None else _MISSING
    arguments = {k: v for k, v in arguments.items() if v is not _MISSING}
    answers = set()
    for at in yields:
        catchers = []
        _collect_catchers(node.body, (at.lineno, at.col_offset, at.end_lineno,
                                      at.end_col_offset), catchers, code.co_filename)
        verdict, new = _ask(catchers[::-1], etype, _StaticFrame(fn, arguments), None)
        answers.add(_answer(verdict, new, etype))
    return answers.pop() if len(answers) == 1 else None


###############################################################################
# Finding the catchers: from the source, or from the bytecode
###############################################################################

def _catchers_at(code, lasti):
    """What may catch an exception at instruction ``lasti`` of ``code``,
    innermost first; None when it cannot be known.  Cached per site."""
    key = (id(code), lasti)
    hit = _caches.catchers.get(key)
    if hit is not None and hit[0] is code:
        return hit[1]
    return _caches.catchers.keep(key, (code, _find_catchers(code, lasti)))[1]


def _catch_all_of(code):
    """The catcher of a reporting catch-all that ``code`` is (built in, or
    declared with :func:`catch_all`), or None."""
    declared = _declared_catch_alls()
    key = (code.co_filename, code.co_firstlineno)
    if key in declared.on:
        return _CATCH_ALL
    if key in declared.off:
        return None
    where = (os.path.basename(code.co_filename), code.co_name)
    home, catcher = _CATCH_ALLS.get(where, (False, None))
    if home is None and code.co_filename.startswith(_STDLIB) or home and (
            os.sep + home + os.sep) in code.co_filename:
        return catcher
    return None


def _find_catchers(code, lasti):
    catch_all = _catch_all_of(code)
    if catch_all is not None:
        return [catch_all]
    if code is main.__code__:  # the command line reports what reaches it
        return [_CATCH_ALL]
    op = dis.opname[code.co_code[lasti]] if 0 <= lasti < len(code.co_code) else ""
    position = _position(code, lasti)
    call = None
    if code.co_name.startswith("<") and code.co_name != "<module>":
        statements = []  # a comprehension or lambda: no statement of its own
    else:
        tree = _tree_of(code) if position is not None else None
        # without source, or where the file does not hold this code (a
        # template engine's code under the template's name; a file edited
        # since): from the bytecode
        node = tree.get((code.co_name, code.co_firstlineno)) if tree is not None else None
        if node is None:
            statements = _table_catchers(code, lasti)
            if statements is None:
                return None
        else:
            statements = []
            _collect_catchers(node.body, position, statements, code.co_filename)
            statements.reverse()
            call = _innermost_call(node.body, position)
    if call is None and op in _CALLS:
        call = _called_at(code, lasti)
    name, nargs = call or (None, 0)
    found = [_LOADING if op in _ATTRIBUTE_LOADS or name in ("getattr", "hasattr")
             else _NOT_LOADING]
    if op in _ITERATING or op in _CALLS and name not in _GETITEMS:
        found.append(_ITERATION)
    caught, wanted = _C_CATCHERS.get(name, (None, None))
    if caught is not None and nargs == wanted:
        found.append(_CCall(caught))
    return found + statements


# The handlers the compiler adds by itself, as except clauses: the end of an
# async for takes StopAsyncIteration; an await that a throw() ended takes
# StopIteration; a generator's body (3.12+) makes a StopIteration raised in
# it a RuntimeError.  Everything else they raise again.
_IMPLICIT_HANDLERS = {  # instruction: (its clause, the argument it must have, if any)
    "END_ASYNC_FOR": (_Clause(StopAsyncIteration, _Action.HANDLES), None),
    "CLEANUP_THROW": (_Clause(StopIteration, _Action.HANDLES), None),
    "CALL_INTRINSIC_1": (_Clause((StopIteration, StopAsyncIteration), _Action.RAISES,
                                 RuntimeError),
                         "INTRINSIC_STOPITERATION_ERROR"),
}


_MOVES_VALUES = {"COPY", "SWAP", "POP_TOP", "POP_EXCEPT", "STORE_FAST", "NOP"}


def _called_at(code, lasti):
    """For code with no source: ``(name, number of arguments)`` of the call
    at ``lasti``, read back from the bytecode to the instruction that loaded
    what it calls (a name or an attribute); None when it cannot be read."""
    try:
        instructions = list(dis.get_instructions(code))
        k = next(i for i, ins in enumerate(instructions) if ins.offset == lasti)
        if k and instructions[k - 1].opname == "PRECALL":  # 3.11: read from there
            k -= 1
        nargs, depth = instructions[k].arg or 0, 0
        for j in range(k - 1, max(k - 200, -1), -1):
            ins = instructions[j]
            depth += dis.stack_effect(ins.opcode, ins.arg, jump=False) \
                if ins.opcode >= dis.HAVE_ARGUMENT else dis.stack_effect(ins.opcode)
            if depth >= nargs + 1 and ins.opname != "PUSH_NULL":  # 3.14 pushes it after
                if ins.opname in _NAME_LOADS and isinstance(ins.argval, str):
                    return ins.argval, nargs
                return None
    except (StopIteration, ValueError):
        pass
    return None


_NAME_LOADS = {"LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_FAST", "LOAD_FAST_BORROW",
               "LOAD_FAST_CHECK", "LOAD_ATTR", "LOAD_METHOD"}


def _table_catchers(code, lasti):
    """For code with no source: its except clauses around ``lasti``, read
    from the exception table (3.11+) and the instructions that test each
    clause's type.  A handler of another shape (a with or finally block)
    cannot be read: None."""
    table = getattr(code, "co_exceptiontable", None)
    if table is None:
        return _block_catchers(code, lasti)
    entries = _exception_entries(table)
    instructions = list(dis.get_instructions(code))
    index = {ins.offset: i for i, ins in enumerate(instructions)}
    clauses, at = [], lasti
    for _ in range(64):
        target = next((t for start, end, t in entries if start <= at < end), None)
        if target is None:
            return [_ExceptClauses(clauses)] if clauses else []
        i = index[target]
        implicit, argument = _IMPLICIT_HANDLERS.get(instructions[i].opname, (None, None))
        if implicit is not None and argument in (None, instructions[i].argrepr):
            clauses.append(implicit)  # the handler of an async for, an await, a generator
            at = target  # what it re-raises goes on from there
            continue
        if instructions[i].opname != "PUSH_EXC_INFO":
            # the cleanup after a handler, or around an inlined comprehension
            # (3.12+), that only moves values: on to what its re-raise reaches
            while instructions[i].opname in _MOVES_VALUES:
                i += 1
            if instructions[i].opname != "RERAISE":
                return None
            at = instructions[i].offset
            continue
        i += 1
        ends = _finally_end(instructions, i)
        if ends is not None:  # a finally block: its body runs, then the same goes on
            if instructions[ends].opname != "RERAISE":  # it returns: swallowed
                return [_ExceptClauses(clauses + [_Clause(None, _Action.HANDLES)])]
            at = instructions[ends].offset
            continue
        while True:
            start = i
            while instructions[i].opname in _TYPE_LOADS:
                i += 1
            if instructions[i].opname == "CHECK_EXC_MATCH" and i > start:
                clauses.append(_Clause(_bytecode_expression(instructions[start:i]),
                                       _Action.MAY_RAISE))
                i = index[instructions[i + 1].argval]  # the jump to the next clause
            elif i == start and instructions[i].opname == "POP_TOP" and \
                    instructions[i + 1].argval == _MAIL:
                # the handler of an instrumented function, whose source is not
                # at hand (sent by value): it raises again what its own
                # decision, or the one made below, lets go; on from there
                while instructions[i].opname != "RERAISE":
                    i += 1
                at = instructions[i].offset
                break
            elif i == start and instructions[i].opname == "POP_TOP":  # a bare except
                clauses.append(_Clause(None, _Action.MAY_RAISE))
                return [_ExceptClauses(clauses)]
            elif i == start and instructions[i].opname == "RERAISE":  # no clause matched
                at = instructions[i].offset
                break
            else:
                return None
    return None


def _finally_end(instructions, i):
    """Where the handler starting at ``i`` (after its PUSH_EXC_INFO) ends,
    if it is a finally block: its first RERAISE, or a return before it.
    None for an except clause (it tests the exception's type, or drops it:
    a bare except) or a with statement's exit (the manager decides)."""
    for j in range(i, min(i + 400, len(instructions))):
        name = instructions[j].opname
        if name in ("CHECK_EXC_MATCH", "CHECK_EG_MATCH", "WITH_EXCEPT_START") \
                or j == i and name == "POP_TOP":
            return None
        if name in ("RERAISE", "RETURN_VALUE", "RETURN_CONST"):
            return j
    return None


def _block_catchers(code, lasti):
    """:func:`_table_catchers` for 3.10, which has no exception table: the
    blocks that try statements set up, followed along every path from the
    start to ``lasti``, and the clauses that each one's handler tests."""
    instructions = list(dis.get_instructions(code))
    index = {ins.offset: i for i, ins in enumerate(instructions)}
    blocks, todo = {}, [(0, ())]
    while todo:
        i, stack = todo.pop()
        while i < len(instructions) and instructions[i].offset not in blocks:
            ins = instructions[i]
            blocks[ins.offset] = stack
            if ins.opname in ("SETUP_FINALLY", "SETUP_WITH", "SETUP_ASYNC_WITH"):
                todo.append((index[ins.argval], stack))
                stack += ((ins.opname, ins.argval),)
            elif ins.opname == "POP_BLOCK":
                stack = stack[:-1]
            elif ins.opcode in dis.hasjabs or ins.opcode in dis.hasjrel:
                todo.append((index[ins.argval], stack))
                if ins.opname in ("JUMP_ABSOLUTE", "JUMP_FORWARD"):
                    break
            elif ins.opname in ("RETURN_VALUE", "RAISE_VARARGS", "RERAISE"):
                break
            i += 1
    clauses = []
    for setup, target in reversed(blocks.get(lasti, ())):
        if setup != "SETUP_FINALLY":
            return None  # a with statement: its manager is not known
        i = index[target]
        while instructions[i].opname == "DUP_TOP":  # except TYPE: one clause each
            start = i = i + 1
            while instructions[i].opname in _TYPE_LOADS:
                i += 1
            if instructions[i].opname != "JUMP_IF_NOT_EXC_MATCH":
                return None
            clauses.append(_Clause(_bytecode_expression(instructions[start:i]),
                                   _Action.MAY_RAISE))
            i = index[instructions[i].argval]
        if instructions[i].opname == "POP_TOP":  # a bare except
            clauses.append(_Clause(None, _Action.MAY_RAISE))
            break
        if instructions[i].opname != "RERAISE":  # a finally block
            return None
    return [_ExceptClauses(clauses)] if clauses else []


_TYPE_LOADS = {"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FAST", "LOAD_DEREF", "LOAD_ATTR",
               "BUILD_TUPLE"}


def _bytecode_expression(instructions):
    """The expression that the instructions loading an except clause's type evaluate."""
    stack = []
    for ins in instructions:
        if ins.opname == "LOAD_ATTR":
            stack.append(f"{stack.pop()}.{ins.argval}")
        elif ins.opname == "BUILD_TUPLE":
            items = stack[len(stack) - ins.argval:]
            del stack[len(stack) - ins.argval:]
            stack.append("(" + "".join(item + ", " for item in items) + ")")
        else:
            stack.append(ins.argval)
    return compile(stack[-1], "<except clause>", "eval")


def _exception_entries(table):
    """``(start, end, target)`` for each entry of an exception table (CPython's varint format)."""
    data, i, entries = table, 0, []

    def varint():
        nonlocal i
        b = data[i]
        i += 1
        value = b & 63
        while b & 64:
            b = data[i]
            i += 1
            value = (value << 6) | (b & 63)
        return value

    while i < len(data):
        start = varint() * 2
        length = varint() * 2
        target = varint() * 2
        varint()  # depth and lasti
        entries.append((start, start + length, target))
    return entries


def _position(code, lasti):
    """``(line, column, end line, end column)`` of an instruction (3.11+), or
    the line alone with the whole line as columns (3.10)."""
    if hasattr(code, "co_positions"):
        positions = list(code.co_positions())
        index = lasti // 2
        if 0 <= index < len(positions) and None not in positions[index]:
            line, end_line, col, end_col = positions[index]
            return (line, col, end_line, end_col)
        return None
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            return (line, 0, line, _WHOLE_LINE)
    return None


def _tree_of(code):
    """``{(name, first_line): node}`` for the definitions of ``code``'s file
    that hold it; None without source.  A function is parsed alone, from its
    own lines (a large file is not parsed whole for one frame in it); module
    code, or a function whose lines do not parse alone, from the whole file.
    Parsed once per version of the file.  The frozen modules of the standard
    library (the import system) are read from their files."""
    path = code.co_filename
    stamp = _stamp(path)
    for key in ((path, code.co_firstlineno), path):
        cached = _caches.trees.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    lines = linecache.getlines(path)
    if not lines and path.startswith("<frozen ") and path.endswith(">"):
        name = path[len("<frozen "):-1]
        lines = linecache.getlines(os.path.join(_STDLIB, *name.split(".")) + ".py")
    if not lines:
        return None
    tree = _definition_alone(code, lines) if code.co_name != "<module>" else None
    key = (path, code.co_firstlineno)
    if tree is None:
        try:
            tree = _read_tree(path, lines)
        except (SyntaxError, ValueError):
            return None
        key = path
    index = {("<module>", 1): tree} if key == path else {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            index[(node.name, _first_line(node))] = node
    return _caches.trees.keep(key, (stamp, index))[1]


def _definition_alone(code, lines):
    """The definition of the function ``code`` runs, parsed from its own
    lines (its first decorator to the last line of its code and of the code
    nested in it), dedented, with the positions it has in the file; None
    when those lines do not parse alone."""
    first, last = code.co_firstlineno, _last_line(code)
    if last < first or last > len(lines):
        return None
    region = lines[first - 1:last]
    indent = region[0][:len(region[0]) - len(region[0].lstrip())]
    if any(line.strip() and not line.startswith(indent) for line in region):
        return None  # a string's lines, say, less indented than the def
    try:
        tree = ast.parse("".join(line[len(indent):] if line.strip() else "\n"
                                 for line in region))
    except (SyntaxError, ValueError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], _FUNCS):
        return None
    ast.increment_lineno(tree, first - 1)
    shift = len(indent.encode())
    if shift:
        for node in ast.walk(tree):
            if getattr(node, "col_offset", None) is not None:
                node.col_offset += shift
                if node.end_col_offset is not None:
                    node.end_col_offset += shift
    return tree


def _last_line(code):
    """The last line of ``code`` and of the code nested in it."""
    if hasattr(code, "co_positions"):
        last = max((end for _, end, _, _ in code.co_positions() if end is not None), default=0)
    else:
        last = max((line for _, _, line in code.co_lines() if line is not None), default=0)
    return max([last] + [_last_line(c) for c in code.co_consts if isinstance(c, types.CodeType)])


def _contains(first, last, position):
    """Does the span from node ``first`` to node ``last`` hold ``position``?
    A decorated definition starts at its first decorator (the call that
    applies it runs there)."""
    line, col, end_line, end_col = position
    decorators = getattr(first, "decorator_list", None)
    start = first if not decorators else decorators[0]
    if end_col == _WHOLE_LINE:  # 3.10 knows only the line
        return start.lineno <= line <= last.end_lineno
    return ((start.lineno, start.col_offset - (1 if decorators else 0)) <= (line, col)
            and (end_line, end_col) <= (last.end_lineno, last.end_col_offset))


_WHOLE_LINE = 1 << 30


def _collect_catchers(body, position, found, path):
    """Append, outermost first, the catchers around ``position`` in ``body``:
    a try statement's except clauses, a with statement's context managers."""
    for node in body:
        if not _contains(node, node, position):
            continue
        kind = type(node)
        if kind in _TRIES:
            if node.body and _contains(node.body[0], node.body[-1], position):
                found.append(_ExceptClauses([_clause(h, path) for h in node.handlers]))
            for part in [node.body, node.orelse, node.finalbody] + [h.body for h in node.handlers]:
                _collect_catchers(part, position, found, path)
        elif kind in (ast.With, ast.AsyncWith):
            if node.body and _contains(node.body[0], node.body[-1], position):
                found += [_Manager(item.context_expr, path) for item in node.items]
            _collect_catchers(node.body, position, found, path)
        elif kind in _COMPOUND:
            for field in _BODIES:
                for inner in getattr(node, field, None) or ():
                    _collect_catchers(inner.body if isinstance(inner, ast.match_case) else [inner],
                                      position, found, path)


def _clause(handler, path):
    """The :class:`_Clause` of an except clause, for
    :class:`_ExceptClauses`: what its body does is decided from
    its raise statements.  One raise, as its last statement, with no return,
    break or continue before it, always runs; any other raise may not."""
    type_expr = _expression(handler.type, path)
    raises = [n for n in _walk_own_scope(handler.body) if isinstance(n, ast.Raise)]
    if not raises:
        return _Clause(type_expr, _Action.HANDLES)
    leaves = any(isinstance(n, (ast.Return, ast.Break, ast.Continue))
                 or isinstance(n, ast.Call) and _called_name(n) in _TEST_ENDING_CALLS
                 for n in _walk_own_scope(handler.body))
    if len(raises) > 1 or handler.body[-1] is not raises[0] or leaves:
        return _Clause(type_expr, _Action.MAY_RAISE)
    exc = raises[0].exc
    if isinstance(exc, ast.Call) and isinstance(exc.func, ast.Attribute) \
            and exc.func.attr == "with_traceback":
        exc = exc.func.value  # raise e.with_traceback(tb): e again, told another story
    if exc is None or isinstance(exc, ast.Name) and exc.id == handler.name:
        return _Clause(type_expr, _Action.RERAISES)
    raised = exc.func if isinstance(exc, ast.Call) else exc
    if not _reference(raised) or handler.name in {
            n.id for n in ast.walk(raised) if isinstance(n, ast.Name)}:
        return _Clause(type_expr, _Action.MAY_RAISE)  # raise error.cause: known once it runs
    return _Clause(type_expr, _Action.RAISES, _expression(raised, path))


# Calls that end a test without failing it (they raise a test runner's
# outcome): a handler that makes one may not re-raise what it caught.
_TEST_ENDING_CALLS = {"skip", "xfail", "skipTest", "importorskip", "exit"}


def _called_name(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _reference(node):
    """A name, or attributes of one: evaluated without calling anything of
    the program's (but a property)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _plain(node):
    """An argument that can be evaluated again: a reference, a constant, or a tuple of them."""
    if isinstance(node, ast.Tuple):
        return all(_plain(e) for e in node.elts)
    return isinstance(node, ast.Constant) or _reference(node)


def _expression(node, path):
    """What :func:`_evaluate` takes: None; a name; a dotted reference as a
    tuple of names; a tuple of those as a list; else compiled code."""
    if node is None or isinstance(node, ast.Name):
        return node and node.id
    if isinstance(node, ast.Attribute) and _reference(node):
        names = []
        while isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        return (node.id, *reversed(names))
    if isinstance(node, ast.Tuple) and all(_reference(e) for e in node.elts):
        return [_expression(e, path) for e in node.elts]
    return compile(ast.Expression(node), path, "eval")


def _innermost_call(body, position):
    """``(name, number of arguments)`` of the innermost call at ``position``.
    On 3.10, which knows only the line, a call that catches or reads an item
    is preferred among the calls of the line."""
    best, best_span = None, None
    for stmt in body:
        if not _contains(stmt, stmt, position):
            continue
        for node in _walk_own_scope([stmt]):
            if isinstance(node, ast.Call) and _contains(node, node, position):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                span = ((node.lineno, node.col_offset), (-node.end_lineno, -node.end_col_offset))
                if position[3] == _WHOLE_LINE:
                    span = (name in _C_CATCHERS or name in _GETITEMS, span)
                if best_span is None or span > best_span:
                    best, best_span = (name, len(node.args)), span
    return best


###############################################################################
# Deciding whether to stop
###############################################################################

def _has_terminal():
    """Is stdin a terminal?  Asked once per stdin object."""
    if _stops.terminal_override:
        return True
    stdin = sys.stdin
    known = _caches.terminal
    if known is not None and known[0] is stdin:
        return known[1]
    try:
        answer = stdin is not None and stdin.isatty()
    except (ValueError, AttributeError):
        answer = False
    _caches.terminal = (stdin, answer)
    return answer


def _is_debugger_quit(exc):
    # bdb is not imported until a debugger is used, and while another
    # thread's stop imports it, it is in sys.modules before BdbQuit is defined
    bdb_quit = getattr(sys.modules.get("bdb"), "BdbQuit", None)
    return bdb_quit is not None and isinstance(exc, bdb_quit)


# What test runners raise to end a test that is not a failure: a skip, an
# expected failure, pytest's exit.  By module and class name, looked up only
# once the runner is imported.
_TEST_OUTCOMES = (("unittest.case", "SkipTest"), ("_pytest.outcomes", "Skipped"),
                  ("_pytest.outcomes", "XFailed"), ("_pytest.outcomes", "Exit"))


def _is_test_outcome(exc):
    for module, name in _TEST_OUTCOMES:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


class _NoStop(enum.Enum):
    """Why an exception propagates with no stop (see :func:`_stop_decision`)."""
    CONTROL_FLOW = "control flow"
    PROPAGATED = "propagated"
    IN_A_SESSION = "inside a debugger session"
    SWITCHED_OFF = "switched off (%hot_restart off)"
    LET_GO = "the user let it propagate"
    MARKED = "marked as control flow"
    NO_TERMINAL = "no terminal"
    RECURSION = "recursion: stop at its outermost call"
    CAUGHT = "a caller catches it"
    LET_GO_ELSEWHERE = "the user let it propagate in another process"


def _stop_decision(exc, frame, definition):
    """Return None to open the debugger, or why ``exc`` propagates instead
    (a :class:`_NoStop`).

    The cheap checks come first; the look up the stack (would a caller
    catch it?) runs only for an exception that passed them.
    """
    if isinstance(exc, _NEVER_STOP) or _is_debugger_quit(exc):
        return _NoStop.CONTROL_FLOW
    if isinstance(exc, PROPAGATED_EXCEPTIONS) or (
            definition is not None and definition.propagated
            and isinstance(exc, definition.propagated)):
        return _NoStop.PROPAGATED
    if _session.get() is not None:
        return _NoStop.IN_A_SESSION
    if _stops.switched_off:
        return _NoStop.SWITCHED_OFF
    if _let_go(exc):
        return _NoStop.LET_GO
    if _stops.control_flow and _raise_site(exc) in _stops.control_flow:
        return _NoStop.MARKED
    terminal = _has_terminal() or _debuggers.attached() or _settings.elsewhere.place() is not None
    if not terminal and _stops.warned_no_terminal:
        return _NoStop.NO_TERMINAL
    if isinstance(exc, RecursionError) and not _outermost_of_recursion(exc, frame):
        return _NoStop.RECURSION
    if _caught_above(exc, frame):
        return _NoStop.CAUGHT
    if _is_test_outcome(exc):  # asked only here, where it would stop
        return _NoStop.CONTROL_FLOW
    if _let_go_elsewhere(exc):
        return _NoStop.LET_GO_ELSEWHERE
    return None if terminal else _NoStop.NO_TERMINAL


def _let_go(exc):
    """Did the user let ``exc`` propagate, or the exception it was raised
    while handling (a translation: ``raise ParseError from e``)?"""
    if not _stops.let_go:
        return False
    for _ in range(8):
        if exc is None:
            return False
        if _stops.let_go.get(id(exc)) is exc:
            return True
        exc = exc.__context__
    return False


#: set on an exception the user let propagate in a child process, which
#: carries it to its parent
_LET_GO_ATTR = "__hot_restart_let_go__"


def _let_go_elsewhere(exc):
    """Did the user let ``exc`` propagate in the child process it came from
    (asked only where it would stop)?  The mark came with the exception, or
    with the one it wraps: Ray's RayTaskError keeps the task's as ``cause``."""
    for _ in range(8):
        if exc is None:
            return False
        wrapped = getattr(exc, "cause", None)
        for one in (exc, wrapped):
            if isinstance(one, BaseException) and _LET_GO_ATTR in getattr(one, "__dict__", ()):
                return True
        exc = exc.__context__
    return False


class _Restart:
    """What the handler of a failed call that is to run again hands to the
    restart (:func:`_again` and its kin), in one record: made when the stop
    is decided, filled by the session, taken once by the restart.

    ``definition``: the failed function's; ``typed``: parameters assigned
    at the prompt (the restart passes them); ``replay``: a generator's
    ``(count, delegating)``, read while the exception still said where it
    failed (see :class:`_Replay`); ``loop``: how a develop loop starts
    (_MISSING, or the failure of an ``--xloop``), None for none."""

    __slots__ = ("definition", "typed", "replay", "loop")

    def __init__(self):
        self.definition, self.typed, self.replay, self.loop = None, {}, None, None


def _restart_of(frame):
    """The record of ``frame``'s coming restart, made at first use."""
    record = _stops.restarts.get(frame)
    if record is None:
        record = _stops.restarts[frame] = _Restart()
    return record


def _taken_restart(frame):
    """The record of ``frame``'s restart, taken by the restart (an empty one
    if nothing was handed over)."""
    return _stops.restarts.pop(frame, None) or _Restart()


def _raise_site(exc):
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    return (tb.tb_frame.f_code.co_filename, tb.tb_lineno, type(exc))


def _outermost_of_recursion(exc, frame):
    """A RecursionError stops at the first call of the runaway function,
    where there is room for the debugger and a restart makes sense."""
    code = frame.f_code
    memo = _stops.recursion  # (exception, {code: its outermost frame})
    if memo is None or memo[0] is not exc:
        memo = _stops.recursion = (exc, {})
    outermost = memo[1].get(code)
    if outermost is None:
        # found once per exception and function: asked again at each of
        # the thousands of levels it unwinds, the walk would be quadratic
        outermost, f = frame, frame.f_back
        while f is not None:
            if f.f_code is code:
                outermost = f
            f = f.f_back
        memo[1][code] = outermost
    if outermost is frame:
        _stops.recursion = None
        return True
    return False


def _caught_above(exc, frame):
    """Will a caller of ``frame`` handle ``exc``?  Decided from the live frames
    (see the catchers above); when it cannot tell, the answer is no.  (The
    handler asked :func:`_known_to_be_caught` first.)"""
    verdict, catcher = _above(type(exc), frame)
    if verdict is True:
        handlers, f = 0, frame.f_back
        while f is not catcher:
            handlers += _passes_own_handler(f.f_code, f.f_lasti)
            f = f.f_back
        _mail(exc, handlers)
    return verdict is True


def _mail(exc, handlers):
    """Tell the next ``handlers`` handlers of wrapped functions that ``exc``
    passes, between the one that asks and the one that catches, that it is
    caught above them: each takes its letter and raises again without a call.

    On its way out, an exception passes the handler of every wrapped
    function between where it was raised and where it is caught, and each
    would ask again, in a parser from deeper and deeper.  The letter is one
    for them all: the exception, and how many handlers have yet to take it.
    Taking it costs a handler two reads, one call of a C function (which
    fetches the exception it caught, to compare) and a decrement.  The
    count is of the frames whose instruction lies in the body their handler
    guards (see :func:`_passes_own_handler`), so that the last of them
    takes the last letter, and drops the exception.
    A handler that caught another exception (another thread's, or one raised
    on the way) does not take it; letters not taken (the exception was caught
    before it got there) are dropped at the next question (see
    :func:`_propagate`), so that the same exception raised again asks anew."""
    if handlers:
        _letters.send(exc, handlers)


def _passes_own_handler(code, lasti):
    """Does an exception at instruction ``lasti`` of ``code`` pass the
    handler that instrumenting put there?  Not in code that is not
    instrumented, nor where a frame runs that handler or the restart after
    it (the failed call running again, whose exceptions pass no handler of
    this frame): instrumenting gives those the position of the ``def``
    line, with no width, which no statement of the body has."""
    own = _own_handler_offsets(code)
    return own is not None and lasti not in own


def _known_to_be_caught(exc, frame):
    """The fast path of a handled exception, asked first by every handler
    that got no letter (see :func:`_mail`): is it known that a caller of
    ``frame`` catches ``exc``?  Exception-heavy code (a parser) raises the
    same exception from the same function through the same few chains of
    calls, again and again: the chains that ended in a catch are kept for
    the function and the type, merged where they share their first callers
    (see :func:`_keep_chain`), and checked caller by caller, code and
    instruction, with no lookup: each caller's frame is read once, however
    many chains part after it.  Otherwise the verdicts of the callers
    up to one that catches are looked up, one per frame (see
    :func:`_frame_verdict`).  On the way, the handlers of wrapped functions
    passed are counted; if the answer is yes, they get their letter (see
    :func:`_mail`).  Anything else is
    for :func:`_stop_decision`, whose other checks would all let it
    propagate too."""
    kept = _caches.chains.get((id(frame.f_code), type(exc)))
    if kept is not None:
        callers, f, handlers = kept[1], frame, 0
        try:
            while True:
                f = f.f_back
                code, lasti = f.f_code, f.f_lasti
                for known, at, handler, above in callers:  # noqa: B007 (the one that matched)
                    if known is code and at == lasti:
                        break
                else:
                    break  # no chain kept goes this way
                if above is None:  # the catcher
                    if handlers:
                        _letters.send(exc, handlers)
                    return True
                handlers += handler  # 1 where its handler would ask
                callers = above
        except AttributeError:  # the stack ended before the chains did
            pass
    return _walk_to_catcher(exc, frame)


def _walk_to_catcher(exc, frame):
    """The verdicts of the callers of ``frame`` on ``exc``, one lookup each,
    up to one that catches it: True; False when one is not known or none
    catches.  A chain of verdicts that hold for any frame with that code
    and instruction is kept for the fast path."""
    etype, verdicts, below, f = type(exc), _caches.verdicts, frame, frame.f_back
    chain, handlers = [], 0
    while f is not None:
        code, lasti = f.f_code, f.f_lasti
        hit = verdicts.get((id(code), lasti, etype))
        if hit is None or hit[0] is not code:
            break
        passes = hit[2]
        if passes is True:
            if chain is not None:
                chain.append((code, lasti, 0))
                _keep_chain((id(frame.f_code), type(exc)), tuple(chain))
            _mail(exc, handlers)
            return True
        if passes is not False and passes is not _PASSES_WRAPPED:
            if passes not in _UNLESS_GETITEM_VALUES:
                break
            chain = None  # it depends on the frame below
            if below.f_code.co_name == "__getitem__":
                _mail(exc, handlers)
                return True  # an iteration's end
        handler = passes is _PASSES_WRAPPED or passes is _PASSES_WRAPPED_UNLESS_GETITEM
        if chain is not None:
            chain.append((code, lasti, int(handler)))
        handlers += handler
        etype = hit[1][1]
        below, f = f, f.f_back
    return False


def _keep_chain(key, chain):
    """Keep ``chain``, ``((code, lasti, handler), ...)`` from the first
    caller to the catcher (``handler``: 1 where the exception passes the
    handler of a wrapped function, else 0), with the others of ``key``, as a
    tree: ``[how many were added, callers]``, where callers are ``[(code,
    lasti, handler, their callers, or None at the catcher), ...]``.  A parser's chains part
    at its alternatives, a caller or two up: merged, the callers they share
    are checked once.  After ``_CHAINS_KEPT`` chains, the tree starts anew."""
    kept = _caches.chains.get(key)
    if kept is None or kept[0] >= _CHAINS_KEPT:
        kept = _caches.chains.keep(key, [0, []])
    kept[0] += 1
    callers = kept[1]
    for i, (code, lasti, handler) in enumerate(chain):
        for caller in callers:
            if caller[0] is code and caller[1] == lasti:
                above = caller[3]
                break
        else:
            above = None if i == len(chain) - 1 else []
            callers.append((code, lasti, handler, above))
        if above is None:  # the catcher (the same code, instruction and type below decide it)
            return
        callers = above


#: chains kept per function and type: enough for a parser's alternatives
_CHAINS_KEPT = 16


#: in the verdicts kept: the exception passes a wrapped function there
_PASSES_WRAPPED = "passes a wrapped function"
#: ... and the same, unless it comes from a ``__getitem__`` (an iteration
#: at that call ends with it: see _Iteration)
_PASSES_UNLESS_GETITEM = "passes, unless from a __getitem__"
_PASSES_WRAPPED_UNLESS_GETITEM = "passes a wrapped function, unless from a __getitem__"
_UNLESS_GETITEM = {False: _PASSES_UNLESS_GETITEM,
                   _PASSES_WRAPPED: _PASSES_WRAPPED_UNLESS_GETITEM}
_UNLESS_GETITEM_VALUES = frozenset(_UNLESS_GETITEM.values())


def _above(etype, frame):
    """The verdict of the callers of ``frame`` on an exception of type
    ``etype``, and the frame that gave it (None if none did)."""
    below, f = frame, frame.f_back
    while f is not None:
        verdict, etype = _frame_verdict(f, below, etype)
        if verdict is not False:
            return verdict, f
        below, f = f, f.f_back
    return False, None


def _search(etype, frames):
    """Follow an exception of type ``etype`` out through ``frames``, innermost
    first, each suspended (as a coroutine at an await).  Returns ``(verdict,
    etype)``: the first answer that is not False, or False when none of them
    catches it, with the type that reaches there."""
    for frame in frames:
        verdict, etype = _frame_verdict(frame, None, etype)
        if verdict is not False:
            break
    else:
        verdict = False
    return verdict, etype


def _frame_verdict(frame, below, etype):
    """Ask the catchers of ``frame`` at its current instruction, innermost
    first.  Where the answer depends only on the code, the instruction and
    the exception's type (except clauses that name global types, C
    functions), it is kept: exception-heavy code (parsers) asks again and
    again from the same places."""
    code, lasti = frame.f_code, frame.f_lasti
    key = (id(code), lasti, etype)
    hit = _caches.verdicts.get(key)
    if hit is not None and hit[0] is code and (
            hit[2] not in _UNLESS_GETITEM_VALUES or not _from_getitem(below)):
        return hit[1]
    if code in _PASSES_THROUGH:
        return False, etype
    catchers = _catchers_at(code, lasti)
    if catchers is None:
        return None, etype
    verdict = _ask(catchers, etype, frame, below)
    unfixed = [c for c in catchers if (c.concerns is None or issubclass(etype, c.concerns))
               and not c.fixed(code, frame)]
    if not unfixed or unfixed == [_ITERATION] and not _from_getitem(below):
        # an IndexError through a call: it ends an iteration only where the
        # frame below is a __getitem__, which the fast path looks at
        passes = verdict[0]
        if passes is False and _passes_own_handler(code, lasti):
            passes = _PASSES_WRAPPED
        if unfixed:
            passes = _UNLESS_GETITEM.get(passes, passes)
        _caches.verdicts.keep(key, (code, verdict, passes))
    return verdict


def _from_getitem(below):
    return below is not None and below.f_code.co_name == "__getitem__"


#: The code of hot-restart's own frames whose handlers catch nothing that a
#: frame below them raised: a restart's loop catches a TypeError only where
#: calling the new code refused the arguments (see :func:`_again`).  Filled
#: where they are defined.
_PASSES_THROUGH = set()


###############################################################################
# The debugger
###############################################################################

class _Outcome(enum.Enum):
    """What the user chose at a stop."""

    CONTINUE = "continue"  # reload, then call the failed function again
    RETRY = "retry"        # reload, then restart ``retry_frame`` instead
    QUIT = "quit"          # let the exception propagate
    RERAISE = "reraise"    # the same, said with hot_restart.reraise()
    EXIT = "exit"          # end the program with ``exit_code``


class _Session:
    """One stop: the frame that failed, its exception, and what the user chose.

    ``outcome`` is an :class:`_Outcome` (``retry_frame`` is then the frame to
    restart), set by a command or by :func:`exit` / :func:`reraise` typed at
    the prompt.
    """

    def __init__(self, frame, exc, definition):
        self.frame, self.exc, self.definition = frame, exc, definition
        self.outcome = None
        self.exit_code = None
        self.retry_frame = None
        self.streams = None  # a session held elsewhere: its stdin and stdout


@contextmanager
def _in_session(session):
    token = _session.set(session)
    try:
        yield session
    finally:
        _session.reset(token)


class _Adapter:
    """What every debugger adapter shares: the stop being shown, and the
    user's choice recorded on it.

    Adding a debugger is one subclass and one entry in :data:`_ADAPTERS`.
    The subclass states its facts: ``name`` (as ``HOT_RESTART_DEBUGGER``
    says it), ``pip_name`` (what to install when it is missing),
    ``remote`` (its stops are shown in a client such as VS Code, so no
    terminal is needed), ``owns_tracing`` (while it runs the program,
    ``sys.settrace`` is its own).  It implements ``make()``, which imports
    the debugger and returns the one instance kept for the run (so that
    breakpoints set at one stop fire after the restart), ``running()``
    (is it already running the program?), ``on_terminal()`` (see there),
    ``show(session, banner)``, which
    presents the stop and returns once the user has chosen, after calling
    ``choose`` with the outcome (returning without a choice lets the
    exception propagate), and ``message``, which prints a line where the
    user looks.  ``how_to`` is the help added to the first banner
    (``{file}`` and ``{name}`` are filled in); ``again`` says how to try
    again after an edit that does not compile.  ``rearm`` traces the
    restarted call when breakpoints are set (bdb's ``breaks`` and ``arm``
    for the debuggers built on bdb).
    """

    name = ""
    pip_name = None
    remote = False
    owns_tracing = False
    how_to = ""
    again = "type c again, or q to let the error propagate"
    _current = None

    @classmethod
    def running(cls):
        return False

    @classmethod
    def make(cls):
        raise NotImplementedError

    def on_terminal(self):
        """Around a session in this process's terminal: what the debugger
        needs to reach it (nothing, but for IPython's with the output in a
        file)."""
        return contextlib.nullcontext()

    def rearm(self, frame):
        """After a restart: trace it if breakpoints are set.  True if tracing was set."""
        if not getattr(self, "breaks", None):
            return False
        self.arm(frame)
        return True

    def run_session(self, session, banner):
        self._current = session
        try:
            self.show(session, banner)
        finally:
            self._current = None

    def choose(self, outcome):
        """Record what happens next.  The first choice stands: after
        ``hot_restart.exit()`` typed in pudb's shell, ``c`` still exits."""
        if self._current.outcome is None:
            self._current.outcome = outcome

    def arm(self, frame):
        """Trace again from ``frame`` up, so breakpoints fire in the restarted code."""
        self.reset()
        self.quitting = False
        while frame is not None:
            frame.f_trace = self.trace_dispatch
            self.botframe = frame
            frame = frame.f_back
        self._set_stopinfo(self.botframe, None, -1)
        sys.settrace(self.trace_dispatch)


@functools.lru_cache(maxsize=None)
def _combined(adapter, debugger):
    """The class of an adapter on the debugger it adapts, made once."""
    return type(debugger.__name__, (adapter, debugger), {"__module__": __name__})


class _PdbAdapter(_Adapter):
    """pdb, opened post-mortem on a wrapped function with its callers alive:
    ``c`` reloads and calls again, ``q`` lets the exception propagate, and
    ``retry``, ``reload`` and ``handled`` are added.  Combined with
    ``pdb.Pdb`` on first use, so programs that never stop do not import pdb;
    ipdb's adapter is this one on IPython's debugger."""

    name = "pdb"

    @classmethod
    def make(cls):
        import pdb
        return _combined(cls, pdb.Pdb)()

    how_to = ("Fix {file} in your editor, then type c to reload it and call {name}() "
              "again with the same arguments;\nq lets the error propagate, "
              "hot_restart.exit() ends the program;\nup then retry restarts a calling "
              "function instead.")

    def __init__(self):
        super().__init__(nosigint=True)
        self.reset()
        self._handler_lines = {}

    def _prompts_itself(self, session):
        """Does the prompt go through ``input()``?  It would print the prompt
        to standard output, wherever it goes."""
        return self.stdout is sys.stdout and session.streams is None

    def show(self, session, banner):
        if session.streams is not None:  # held elsewhere
            self.stdin = self.stdout = session.streams
        else:
            # the streams of now (a test runner may have captured the old
            # ones), and the terminal itself when the output goes to a file
            self.stdin, self.stdout = sys.stdin, _terminal_output()
        self.use_rawinput = self._prompts_itself(session)
        tb = session.exc.__traceback__
        self._handler_lines = {session.frame: tb.tb_lineno + _moved_by(session.frame.f_code)}
        try:
            self.message(banner)
            self.interaction(session.frame.f_back, tb)
        finally:
            self._handler_lines = {}
            self.forget()

    # The stopped frame runs its handler; show the line that failed instead.
    def setup(self, f, tb):
        super().setup(f, tb)
        # a frame still running code from before a reload that moved its
        # lines: its line as the file has it now
        self.stack = [(frame, line + _moved_by(frame.f_code)) for frame, line in self.stack]
        shown = [entry for entry in self.stack if not _own_frame(entry[0])]
        if shown and len(shown) < len(self.stack):  # the user's frames only
            current = self.stack[self.curindex][0]
            self.stack = shown
            self.curindex = next((i for i, (frame, _) in enumerate(shown)
                                  if frame is current), len(shown) - 1)
            self._select(shown[self.curindex][0])
        if self._current is not None:
            for i, (frame, _) in enumerate(self.stack):
                if frame is self._current.frame:
                    self.curindex = i
                    self._select(frame)
                    if hasattr(self, "set_convenience_variable"):
                        self.set_convenience_variable(frame, "_frame", frame)
            self._list_from_failure()

    def _select(self, frame):
        self.curframe = frame
        # pdb 3.13+ reads the frame's own locals, and 3.14 warns when this
        # is set (an error where a program turns warnings into errors)
        if not isinstance(getattr(type(self), "curframe_locals", None), property):
            self.curframe_locals = frame.f_locals

    def _select_frame(self, number):
        super()._select_frame(number)
        self._list_from_failure()

    def _list_from_failure(self):
        line = self._shown_line(self.curframe)
        if line is not None:
            self.lineno = max(0, line - 6)

    def _shown_line(self, frame):
        """The line to show as ``frame``'s current one where it is not its
        own: at a stop, the line that failed (not the def line its handler
        runs on); in code from before a reload that moved its lines, the
        line as the file has it now.  None where it is its own."""
        line = self._handler_lines.get(frame)
        moved = _moved_by(frame.f_code) if frame is not None else 0
        return line if line is not None or not moved else frame.f_lineno + moved

    def _listed(self, frame):
        """The frame as list and ll mark its current line (see _shown_line)."""
        line = self._shown_line(frame)
        return frame if line is None else _AtLine(frame, line)

    def _print_lines(self, lines, start, breaks=(), frame=None):
        super()._print_lines(lines, start, breaks, self._listed(frame))

    def postcmd(self, stop, line):
        if self._current is not None and self._current.outcome is not None:
            return True
        return super().postcmd(stop, line)

    def _validate_file_mtime(self):
        """pdb 3.13 warns that an edited file runs stale code: not at a stop
        of ours, where continue loads the edit, nor where the frame runs
        the file as it is now (at a breakpoint after a reload)."""
        frame = self.curframe
        state = _registry.files.get(frame.f_code.co_filename) if frame is not None else None
        if state is not None and state.stamp == _stamp(state.path):
            table = getattr(self, "_file_mtime_table", None)
            if isinstance(table, dict) and state.path in table:
                with contextlib.suppress(OSError):
                    table[state.path] = os.path.getmtime(state.path)
            return
        if self._current is None:
            super()._validate_file_mtime()

    def do_continue(self, arg):
        """c(ont(inue))
        Reload the edited source and call the failed function again with
        the same arguments.  At a breakpoint, continue as usual."""
        if self._current is None:
            return super().do_continue(arg)
        self.choose(_Outcome.CONTINUE)
        return 1

    def do_quit(self, arg):
        """q(uit)
        Let the exception propagate, as if hot-restart were not there."""
        if self._current is None:
            return super().do_quit(arg)
        self.choose(_Outcome.QUIT)
        return 1

    def do_EOF(self, arg):
        if self._current is None:
            return super().do_EOF(arg)
        self.message("")
        return self.do_quit(arg)

    # The commands' docstrings are their help, which pdb prints as it is.
    def do_retry(self, arg):
        """retry
        Restart the selected frame (choose it with up and down; where marks
        the frames that can restart with [retry]): load the edits, unwind to
        that frame, running the finally blocks and with exits in between,
        and call its function again with its original arguments."""
        if self._current is None:
            self.error("retry works where hot-restart stopped on an exception")
            return None
        frame = self.curframe
        if not _running_at(frame, self._current.frame):
            self.error(f"{frame.f_code.co_name} has already ended with the error (it ran "
                       f"below the function that stopped), so it cannot be restarted; "
                       f"use up to select a frame marked [retry] in where")
            return None
        if _registry.owner(frame.f_code) is None:
            self.error(f"{frame.f_code.co_name} is not wrapped, so it cannot be restarted; "
                       f"where marks the frames that can with [retry]")
            return None
        reloaded = _reload()
        if reloaded.message:
            self.message(reloaded.message)
        if reloaded.errors:
            return None
        self._current.retry_frame = frame
        self.choose(_Outcome.RETRY)
        return 1

    def format_stack_entry(self, frame_lineno, *args, **kwargs):
        entry = super().format_stack_entry(frame_lineno, *args, **kwargs)
        frame = frame_lineno[0]
        if (self._current is not None and _registry.owner(frame.f_code) is not None
                and _running_at(frame, self._current.frame)):
            head, newline, rest = entry.partition("\n")
            entry = head + "  [retry]" + newline + rest
        return entry

    def do_handled(self, arg):
        """handled
        This exception is control flow that a caller handles in a way
        hot-restart cannot see: let it propagate now, and never stop for
        this exception type at this raise site again in this run."""
        if self._current is None:
            self.error("handled works where hot-restart stopped on an exception")
            return None
        _stops.control_flow.add(_raise_site(self._current.exc))
        self.choose(_Outcome.QUIT)
        return 1

    def do_reload(self, arg):
        """reload
        Load every edit to files with wrapped code now, say what changed,
        and stay at the prompt."""
        self.message(_reload().message or "nothing changed on disk")

    do_c = do_cont = do_continue
    do_q = do_exit = do_quit


# pdb's commands that would go on from the failed line, or run the program
# from its start: at a stop of hot-restart's the function has already
# failed, and pdb would end the program.  Each says so in one line instead,
# and the prompt stays; elsewhere (at a breakpoint) it is pdb's own.
_STEPPING = ("the function has already failed, so there is no line to go on to; c "
             "reloads your edits and calls it again (to step through that call, set a "
             "breakpoint first with b LINE, then c), q lets the error propagate")
_RESTARTING = ("the program stays alive; c reloads your edits and calls the failed "
               "function again, up then retry restarts a caller, q lets the error "
               "propagate, hot_restart.exit() ends the program")
_REFUSED_AT_A_STOP = (  # command, its aliases, what it does elsewhere, why not here
    ("next", ("n",), "n(ext)\n        Go on to the next line in the current function.",
     _STEPPING),
    ("step", ("s",), "s(tep)\n        Go on, stopping at the first possible occasion.",
     _STEPPING),
    ("return", ("r",), "r(eturn)\n        Go on until the current function returns.",
     _STEPPING),
    ("until", ("unt",), "unt(il) [lineno]\n        Go on until a line greater than the "
     "current one (or lineno) is reached.", _STEPPING),
    ("jump", ("j",), "j(ump) lineno\n        Set the next line that will be executed.",
     _STEPPING),
    ("restart", (), "restart [args ...]\n        Run the program again from its start.",
     _RESTARTING),
    ("run", (), "run [args ...]\n        Run the program again from its start.",
     _RESTARTING),
)


def _refused_at_a_stop(name, usage, why):
    """pdb's ``do_NAME``, refused with ``why`` at a stop of hot-restart's."""

    def command(self, arg):
        if self._current is None:
            return getattr(super(_PdbAdapter, self), f"do_{name}")(arg)
        self.error(f"{name} does not work where hot-restart stopped on an error: {why}")
        return None

    command.__name__ = f"do_{name}"
    command.__doc__ = (f"{usage}\n        Where hot-restart stopped on an error it does "
                       f"not: {why}.")
    return command


def _refuse_at_a_stop():
    for name, aliases, usage, why in _REFUSED_AT_A_STOP:
        command = _refused_at_a_stop(name, usage, why)
        for alias in (name, *aliases):
            setattr(_PdbAdapter, f"do_{alias}", command)


_refuse_at_a_stop()


class _IpdbAdapter(_PdbAdapter):
    """IPython's terminal debugger (what ipdb opens), with the same session."""

    name = pip_name = "ipdb"

    @classmethod
    def make(cls):
        import ipdb  # noqa: F401  (asked for by name: it must be installed)
        from IPython.terminal.debugger import TerminalPdb
        debugger = _combined(cls, TerminalPdb)()
        if os.environ.get("NO_COLOR"):  # the no-color convention
            if hasattr(debugger, "set_theme_name"):  # IPython 9
                debugger.set_theme_name("nocolor")
            else:
                debugger.set_colors("NoColor")
        return debugger

    def _prompts_itself(self, session):
        return session.streams is None  # (IPython reads no other way)

    @contextmanager
    def on_terminal(self):
        terminal = _terminal_output()
        if terminal is sys.stdout:
            yield
            return
        # the output goes to a file: IPython's prompt is written to standard
        # output's file descriptor; for the session, that is the terminal
        stdout = sys.stdout
        stdout.flush()
        saved, buffered = os.dup(1), getattr(stdout, "line_buffering", None)
        os.dup2(terminal.fileno(), 1)
        if buffered is False:  # as on a terminal: each line as it is printed
            stdout.reconfigure(line_buffering=True)
        try:
            yield
        finally:
            stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            if buffered is False:
                stdout.reconfigure(line_buffering=False)

    def print_list_lines(self, filename, first, last):
        # IPython marks the line of self.curframe, not of a frame it is given
        frame = self.curframe
        self.curframe = self._listed(frame)
        try:
            super().print_list_lines(filename, first, last)
        finally:
            self.curframe = frame


class _AtLine:
    """A frame as the debugger lists it at a stop: its handler runs on the
    def line, but the line to mark is the one that failed."""

    def __init__(self, frame, line):
        self._frame, self.f_lineno = frame, line

    def __getattr__(self, name):
        return getattr(self._frame, name)


class _Unavailable(ImportError):
    """A debugger that cannot be used here; the message says why and what to do."""


_BDB_STATE = ("botframe", "stopframe", "returnframe", "stoplineno", "stack", "curindex",
              "curframe")


class _PudbAdapter(_Adapter):
    """pudb's full-screen debugger, with the same session.

    It opens on the crashed function in pudb's exception view (``e`` shows
    the traceback), not in its post-mortem mode, where ``c`` is refused.
    pudb keeps one debugger per process: when the program already made it,
    that one is used, with its breakpoints.
    """

    name = pip_name = "pudb"

    @classmethod
    def running(cls):
        return "pudb" in sys.modules

    @classmethod
    def make(cls):
        import pudb
        from pudb.debugger import Debugger
        debugger = pudb._get_debugger()  # the process's one pudb, made if need be
        debugger.__class__ = _combined(cls, Debugger)
        return debugger

    how_to = ("Fix {file} in your editor, then press c to reload it and call {name}() "
              "again with the same arguments; q lets the error propagate; "
              "hot_restart.exit() at pudb's Python shell (!) ends the program.")
    again = "press c again, or q to let the error propagate"

    def message(self, text):
        _output.say(text)  # printed once pudb's screen has closed

    def show(self, session, banner):
        exc = session.exc
        exc_tuple = (type(exc), exc, exc.__traceback__)
        # the program's own pudb may be tracing: leave its state as it was
        saved = {name: getattr(self, name, None) for name in _BDB_STATE}
        try:
            self.post_mortem = False
            self.botframe = None  # the whole stack
            self.stack, _ = self.get_stack(session.frame.f_back, exc.__traceback__)
            self.set_frame_index(next(i for i, (frame, _) in enumerate(self.stack)
                                      if frame is session.frame))
            self._refused = False
            self.ui.call_with_ui(self._interact, exc_tuple, banner)
            while session.outcome is None and self._refused:
                self._refused = False
                self.ui.call_with_ui(self.ui.interaction, exc_tuple, show_exc_dialog=False)
        finally:
            self.__dict__.update(saved)

    def _interact(self, exc_tuple, banner):
        self.ui.message(banner, title="hot-restart")
        self.ui.interaction(exc_tuple, show_exc_dialog=False)

    # pudb's keys call these; at a crash they choose what happens next.
    def set_continue(self):
        if self._current is None:
            return super().set_continue()
        return self.choose(_Outcome.CONTINUE)

    def set_quit(self):
        if self._current is None:
            return super().set_quit()
        return self.choose(_Outcome.QUIT)

    def _refuse(self):
        self._refused = True
        self.ui.message("hot-restart stopped on an error: c reloads your edits and calls "
                        "the function again, q lets the error propagate.  To step "
                        "through the call again, set a breakpoint (b), then press c.",
                        title="hot-restart")

    def set_next(self, frame):
        return super().set_next(frame) if self._current is None else self._refuse()

    def set_step(self):
        return super().set_step() if self._current is None else self._refuse()

    def set_return(self, frame):
        return super().set_return(frame) if self._current is None else self._refuse()

    def set_jump(self, frame, line):
        return super().set_jump(frame, line) if self._current is None else self._refuse()


class _PydevdAdapter(_Adapter):
    """VS Code (or another client) through debugpy: the crash is shown there
    as an exception stop with the live stack.  Continue reloads and calls
    again; ``hot_restart.reraise()`` typed in the Debug Console, then
    Continue, lets the exception propagate."""

    name, pip_name, remote, owns_tracing = "pydevd", "debugpy", True, True

    @classmethod
    def running(cls):
        return "pydevd" in sys.modules

    @classmethod
    def make(cls):
        if not cls.running():
            if importlib.util.find_spec("debugpy") is None:
                raise ImportError("debugpy")
            raise _Unavailable(_notice("debugpy is not running this program (start it "
                                       "from VS Code, or with python -m debugpy --listen "
                                       "PORT); using pdb"))
        return cls()

    @staticmethod
    def attached():
        """Is a client of debugpy (VS Code) attached to show the stops?"""
        debugpy = sys.modules.get("debugpy")
        if debugpy is not None and hasattr(debugpy, "is_client_connected"):
            return debugpy.is_client_connected()
        return sys.modules["pydevd"].get_global_debugger() is not None

    def rearm(self, frame):
        return False  # the client keeps its breakpoints, and pydevd sets them in new code

    how_to = ("Fix {file} in your editor, then press Continue to reload it and call "
              "{name}() again with the same arguments; to let the error propagate, "
              "type hot_restart.reraise() in the Debug Console, then Continue.")
    again = ("press Continue again, or type hot_restart.reraise() in the Debug Console, "
             "then Continue, to let the error propagate")
    breaks = {}  # the client keeps its breakpoints, and pydevd sets them in new code

    def message(self, text):
        _output.say(text)

    def show(self, session, banner):
        py_db = sys.modules["pydevd"].get_global_debugger()
        if py_db is None or not self.attached():
            return self._detached(session)
        self.message(banner)
        exc = session.exc
        exc_info = (type(exc), exc, exc.__traceback__)
        if hasattr(py_db, "trigger_exception_handler"):
            py_db.trigger_exception_handler(exc_info, as_uncaught=False)
        else:  # debugpy 1.8.20 and older (VS Code may bring its own)
            tb = exc.__traceback__
            while tb.tb_next is not None:
                tb = tb.tb_next
            thread = threading.current_thread()
            info = py_db.set_additional_thread_info(thread)
            info.is_tracing += 1
            try:
                py_db.do_stop_on_unhandled_exception(thread, tb.tb_frame, {}, exc_info)
            finally:
                info.is_tracing -= 1
        if session.outcome is None:  # Continue, or the client went away
            if not self.attached():
                return self._detached(session)
            self.choose(_Outcome.CONTINUE)

    def _detached(self, session):
        self.message(_notice(f"no debugger client is attached, so the "
                             f"{type(session.exc).__name__} propagates (with VS Code "
                             f"attached to debugpy, a crash stops there)"))


#: The debugger adapters, by the names ``HOT_RESTART_DEBUGGER`` takes.
_ADAPTERS = {a.name: a for a in (_PdbAdapter, _IpdbAdapter, _PudbAdapter, _PydevdAdapter)}
_ADAPTERS["debugpy"] = _PydevdAdapter
_REMOTE_ADAPTERS = tuple(a for a in set(_ADAPTERS.values()) if a.remote)


def _detect_debugger():
    """The debugger to use when none is named: one already running (debugpy
    or pudb), else ipdb if it can be imported, else pdb."""
    for adapter in (_PydevdAdapter, _PudbAdapter):
        if adapter.running():
            return adapter.name
    return "ipdb" if importlib.util.find_spec("ipdb") is not None else "pdb"


def _choose_debugger(name):
    """``(adapter, message or None)`` for the debugger called ``name``."""
    name = (name or _detect_debugger()).lower()
    adapter = _ADAPTERS.get(name)
    if adapter is None:
        known = ", ".join(sorted(_ADAPTERS))
        return _PdbAdapter, _notice(f"there is no debugger called {name!r} "
                                    f"(known: {known}); using pdb")
    return adapter, None


class _Debuggers:
    """The debugger instance, made on first use and kept for its breakpoints."""

    def __init__(self):
        self.instance = None
        self.plain = None  # pdb, where another debugger was chosen
        self.helped = False
        #: context managers entered around every session (the pytest plugin
        #: suspends output capture with one)
        self.guards = []

    def get_pdb(self):
        """pdb, for a session held elsewhere (the others need a terminal)."""
        if isinstance(self.instance, _PdbAdapter) and type(self.instance).name == "pdb":
            return self.instance
        if self.plain is None:
            self.plain = _PdbAdapter.make()
        return self.plain

    def get(self):
        if self.instance is None:
            adapter, message = _choose_debugger(DEBUGGER)
            try:
                self.instance = adapter.make()
            except _Unavailable as exc:
                message = str(exc)
            except ImportError:
                message = _notice(f"{adapter.name} is not installed (pip install "
                                  f"{adapter.pip_name or adapter.name}); using pdb")
            if self.instance is None:
                self.instance = _PdbAdapter.make()
            if message:
                _output.say(message)
        return self.instance

    @staticmethod
    def traces():
        """Is tracing ours to change?  Not while a debugger that owns it runs the program."""
        return not any(a.owns_tracing and a.running() for a in set(_ADAPTERS.values()))

    @staticmethod
    def remote_adapter():
        """The remote debugger (debugpy) that runs the program, to show the
        stops in its client (VS Code), unless another debugger was asked
        for; else None.  Asked at every stop decision: it must stay cheap."""
        for adapter in (_ADAPTERS.get(DEBUGGER.lower()),) if DEBUGGER else _REMOTE_ADAPTERS:
            if adapter is not None and adapter.remote and adapter.running():
                return adapter
        return None

    def remote(self):
        return self.remote_adapter() is not None

    def attached(self):
        """Is a client of the remote debugger attached to show the stops?
        Then they need no terminal."""
        adapter = self.remote_adapter()
        return adapter is not None and adapter.attached()


_debuggers = _Debuggers()


def _moved_by(code):
    """How many lines the definition that ``code`` is an old version of has
    moved in its file since (0 for current code, or code not wrapped)."""
    definition = _registry.owner(code)
    if definition is None or definition.code is None or definition.code is code:
        return 0
    return definition.code.co_firstlineno - code.co_firstlineno


def _stopped_name(session):
    d = session.definition
    return d.qualname if d else session.frame.f_code.co_name


def _terminal_output():
    """Where a session prints: standard output, or the terminal that standard
    input reads from when the output goes elsewhere (``> out.log``), so that
    the banner and the prompt are where the user types."""
    stdout = sys.stdout
    try:
        if stdout is not None and stdout.isatty() or not sys.stdin.isatty():
            return stdout
        if _output.terminal is None:
            _output.terminal = open("/dev/tty", "w", encoding="utf-8", errors="replace")
        return _output.terminal
    except (OSError, ValueError, AttributeError):
        return stdout


def _running_at(frame, stopped):
    """Is ``frame`` the frame that stopped or one of its callers, still running?"""
    while stopped is not None:
        if stopped is frame:
            return True
        stopped = stopped.f_back
    return False


def _session_file(session):
    """The file of the function that stopped (a function sent by value may
    run code that names no file: its definition knows it)."""
    d = session.definition
    return d.path if d is not None else session.frame.f_code.co_filename


def _banner(session, how_to):
    exc = session.exc
    name = _stopped_name(session)
    text = _notice(f"{type(exc).__name__} in {name}(): {exc}")
    if PRINT_HELP_MESSAGE and how_to and not _debuggers.helped:
        _debuggers.helped = True
        text += "\n" + how_to.format(file=_short(_session_file(session)), name=name)
    return text


def _run_session(session):
    """Hold the debugger until the user continues with good code, or gives up.

    Returns True when the exception should propagate.
    """
    _note_unwrapped_stamps()
    if not _stops.end_waits and threading.current_thread() is not threading.main_thread():
        _stops.end_waits = True
        with contextlib.suppress(AttributeError, RuntimeError):  # (the program is ending)
            threading._register_atexit(_wait_for_sessions)
    with _stops.settled:
        _stops.open_sessions += 1
    try:
        return _hold_session(session)
    finally:
        with _stops.settled:
            if session.outcome in (_Outcome.CONTINUE, _Outcome.RETRY) and \
                    threading.current_thread() is not threading.main_thread():
                _stops.continued.append(threading.current_thread())
            _stops.open_sessions -= 1
            _stops.settled.notify_all()
        # A debugger may keep the context the session ran in (IPython's prompt
        # does): let go of the failed exception and its frames all the same.
        session.exc = session.frame = session.retry_frame = None


def _wait_for_sessions():
    """At the program's end (its main thread is done, or called
    ``sys.exit``), while a session is open in another thread: wait for the
    user to end it, then up to five seconds in all for the threads whose
    session continued to finish what they do, instead of killing them.  A
    development server's reloader ends its process in the main thread as
    soon as a file is saved (the fix, most often) while its request threads
    are daemons: the request that failed gets its whole answer from the
    fixed code, its thread ends, then the server restarts."""
    import time
    with _stops.settled:
        _stops.settled.wait_for(lambda: _stops.open_sessions == 0)
        threads, _stops.continued = _stops.continued, []
    deadline = time.monotonic() + 5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _note_typed_arguments(frame, before, after):
    """Parameters of the failed call that the user assigned at the prompt
    (``lr = 0.05``): the restart passes them."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & _CO_VARARGS) \
        + bool(code.co_flags & _CO_VARKEYWORDS)
    typed = {name: after[name] for name in code.co_varnames[:count]
             if name in after and after[name] is not before.get(name, _MISSING)}
    if typed:
        _restart_of(frame).typed = typed


@contextmanager
def _prompt_names():
    """``hot_restart`` is a name at the prompt (``hot_restart.exit()``), also
    where the program never imported it: a builtin while the session is open."""
    added = "hot_restart" not in builtins.__dict__
    if added:
        builtins.hot_restart = sys.modules[__name__]
    try:
        yield
    finally:
        if added:
            builtins.__dict__.pop("hot_restart", None)


@contextmanager
def _lines_of_unnamed_code(session):
    """While the session is shown, the lines of its file under the name of
    code that came without one (cloudpickle 3 sends ``<dynamic-code>``):
    the stop, ``where``, ``list`` and ``ll`` show the source."""
    name = session.frame.f_code.co_filename
    path = session.definition.path if session.definition is not None else name
    lines = linecache.getlines(path) if name.startswith("<") and path != name else None
    if not lines or name in linecache.cache:
        yield
        return
    linecache.cache[name] = (sum(map(len, lines)), None, lines, name)
    try:
        yield
    finally:
        linecache.cache.pop(name, None)


@functools.lru_cache(maxsize=None)
def _untrace_at_exit():
    """Once breakpoints were armed for a restarted call: tracing stops as
    the program exits, before the interpreter takes its modules apart (a
    trace function still set then fails in them, 3.15)."""
    import atexit
    atexit.register(sys.settrace, None)


def _threads_wait_for_sessions():
    """From the first session on: the traceback of an error that ends a
    thread is printed when no session is open in this terminal, not into
    another thread's prompt (``q`` in one of two threads that failed at
    once)."""
    previous = threading.excepthook
    if getattr(previous, "_waits_for_sessions", False):
        return

    def excepthook(args):
        with _settings.elsewhere.terminal:
            previous(args)

    excepthook._waits_for_sessions = True
    threading.excepthook = excepthook


def _hold_session(session):
    trace = sys.gettrace() if _debuggers.traces() else None
    if trace is not None:
        sys.settrace(None)  # a bdb debugger's breakpoints were armed: the session runs untraced
    armed = False
    # The failed frame's locals as the session starts: on 3.10-3.12 the very
    # dict that pdb's assignments go to (reading f_locals again would undo them)
    view = session.frame.f_locals
    before = dict(view)
    try:
        with _registry.lock, _in_session(session), contextlib.ExitStack() as guards:
            place = _settings.elsewhere.place()
            fixed = False
            if place is not None:
                session.streams = guards.enter_context(place.open(session))
                debugger = _debuggers.get_pdb()
                # fixed in another process's session while this one waited its turn
                fixed = _picked_up_fix(session.exc, _stopped_name(session))
                if fixed:
                    session.outcome = _Outcome.CONTINUE
            else:
                _threads_wait_for_sessions()
                guards.enter_context(_settings.elsewhere.terminal)  # the holder's children wait
                for guard in _debuggers.guards:
                    guards.enter_context(guard())
                debugger = _debuggers.get()  # made where the real terminal is in place
                guards.enter_context(debugger.on_terminal())
            guards.enter_context(_lines_of_unnamed_code(session))
            banner = _banner(session, debugger.how_to)
            while not fixed:
                session.outcome = None
                with _prompt_names():
                    debugger.run_session(session, banner)
                if session.outcome is not _Outcome.CONTINUE or not RELOAD_ON_CONTINUE:
                    break
                reloaded = _reload(None if RELOAD_ALL_ON_CONTINUE else session.definition,
                                   debugger.again)
                message = "\n".join(filter(None, [reloaded.message, _unwrapped_changes()]))
                if not reloaded.errors:
                    if message:
                        debugger.message(message)
                    break
                # shown where the user looks next: pudb's screen hides what was printed
                banner = f"{message}\n" + _notice(f"still stopped in {_stopped_name(session)}()")
        if session.outcome is _Outcome.EXIT:
            raise SystemExit(session.exit_code)
        if session.outcome is _Outcome.RETRY and session.retry_frame is not session.frame:
            raise _Retry(session.retry_frame)
        if session.outcome is _Outcome.CONTINUE:
            _note_typed_arguments(session.frame, before, dict(view))
        if session.outcome in (_Outcome.CONTINUE, _Outcome.RETRY):
            armed = debugger.rearm(session.frame)
            if armed:
                _untrace_at_exit()
            return False
        return True
    finally:
        # also after an internal error: the user's breakpoints stay on
        if trace is not None and not armed:
            sys.settrace(trace)


###############################################################################
# Runtime hooks called by instrumented code
###############################################################################

def _own_frame(frame):
    """Is ``frame`` hot-restart's (or runpy's running it), or one whose call
    is being run again (the new call stands for it)?  Not shown to the user."""
    path = frame.f_code.co_filename
    return path == __file__ or path == "<frozen runpy>" or (
        path.startswith(_STDLIB) and os.path.basename(path) == "runpy.py") or (
        id(frame) in _stops.restarting)


def _hide_own_frames(tb):
    """Unlink hot-restart's frames from a traceback, after its first entry,
    so that the traceback the user sees has their own frames only; and the
    entry of a call that was run again, at its ``def`` line, where the new
    call's entry follows."""
    while tb is not None and tb.tb_next is not None:
        following = tb.tb_next
        if _own_frame(following.tb_frame) or _handed_over(following):
            tb.tb_next = following.tb_next
        else:
            tb = following


def _handed_over(tb):
    """Is ``tb`` the entry of a failed call that a restart ran again: its
    frame waits at its ``def`` line (in its handler), and the next user
    entry runs the same definition?"""
    code = tb.tb_frame.f_code
    if tb.tb_lineno != code.co_firstlineno or _registry.owner(code) is None:
        return False
    following = tb.tb_next
    while following is not None and _own_frame(following.tb_frame):
        following = following.tb_next
    return following is not None and (
        _registry.owner(following.tb_frame.f_code) is _registry.owner(code))


def _hide_in_excepthook():
    """From the first restart on, the traceback Python prints when an error
    ends the program leaves out the frames of the restart (the hook that was
    there still prints it)."""
    previous = sys.excepthook

    def excepthook(etype, value, tb):
        _hide_own_frames(tb)
        previous(etype, value, tb)

    excepthook._hides_hot_restart = True
    sys.excepthook = excepthook


def _propagate():
    """Called in the ``except`` clause of every instrumented function that
    got no letter (see :func:`_mail`)."""
    exc = sys.exception()
    frame = sys._getframe(1)
    if _letters.left:  # letters not taken: their exception was caught before
        _letters.drop()
    if type(exc) is _Retry:  # restart here, or let it unwind further
        if exc.target is not frame:
            return True
        _note_generator_count(frame, exc)
        return False
    if type(exc) is _LoopStart:  # the develop loop runs it: see _again
        _restart_of(frame).loop = _MISSING
        return False
    try:
        if _known_to_be_caught(exc, frame):
            return True
        definition = _registry.owner(frame.f_code)
        reason = _stop_decision(exc, frame, definition)
        if reason is None and definition is None:  # sent here by value
            definition = _registry.adopt(frame.f_code, frame.f_globals)
    except Exception as internal:  # a bug of ours must not change the program's fate
        _internal_error(internal, exc)
        return True
    if reason is None and definition is not None and _settings.loops.wanted(definition, "raises") \
            and not _settings.loops.refused_for(frame.f_code, definition.qualname):
        _restart_of(frame).loop = exc  # --xloop: the develop loop, from this failure
        return False
    if reason is not None:
        if reason is _NoStop.NO_TERMINAL and not _stops.warned_no_terminal:
            _stops.warned_no_terminal = True
            _output.notice(f"stdin is not a terminal, so no debugger opens for "
                           f"{type(exc).__name__}; it propagates as usual.")
        return True
    try:
        try:
            if _picked_up_fix(exc, frame.f_code.co_name):
                propagates = False
            else:
                propagates = _run_session(_Session(frame, exc, definition))
        except _NoPlace as problem:
            _output.notice(f"no debugger opens for {type(exc).__name__} in "
                           f"{frame.f_code.co_name}(): {problem}; it propagates as usual.")
            propagates = True
        except Exception as internal:  # a bug of ours must not change the program's fate
            _internal_error(internal, exc)
            propagates = True
        if propagates:
            _mark_let_go(exc)
        else:
            _note_generator_count(frame, exc)
            _restart_of(frame).definition = definition
        return propagates
    finally:
        del frame, exc


def _internal_error(internal, exc):
    _output.notice(f"internal error {type(internal).__name__}: {internal}")
    _output.notice(f"the original {type(exc).__name__} propagates; please report this with "
                   f"the program that caused it.")


def _mark_let_go(exc):
    """The user let ``exc`` propagate: its callers do not ask again."""
    if len(_stops.let_go) >= 8:
        _stops.let_go.clear()
    _stops.let_go[id(exc)] = exc
    if _settings.elsewhere.place() is not None:  # nor the parent it is sent to
        with contextlib.suppress(AttributeError, TypeError):
            setattr(exc, _LET_GO_ATTR, True)


def _picked_up_fix(exc, name):
    """In a process whose sessions are held elsewhere (a pool's worker):
    were the files edited since this process loaded them (the fix made in
    another worker's session)?  Then the edits are loaded, and the failed
    call runs again before anything stops."""
    if _settings.elsewhere.place() is None:
        return False
    reloaded = _reload()
    if reloaded.errors or not reloaded.changed:
        return False
    files = ", ".join(_short(f.state.path) for f in reloaded.found)
    _output.notice(f"{type(exc).__name__} in {name}() in process {os.getpid()}: "
                   f"{files} changed since this process loaded it; the edits are loaded and "
                   f"{name}() runs again")
    return True


def _note_generator_count(frame, exc):
    """For a generator about to restart: what it handed out, read while the
    exception still tells where it failed."""
    if frame.f_code.co_flags & (_CO_GENERATOR | _CO_ASYNC_GENERATOR):
        _restart_of(frame).replay = _failed_count(frame, exc)


_CO_GENERATOR, _CO_COROUTINE, _CO_ASYNC_GENERATOR = 0x20, 0x80, 0x200


def _restart_target(cells, frame, definition=None):
    """The function to call again: the current code, closing over the same cells."""
    rest = _registry.rests.get(frame.f_code)
    if rest is not None:  # what follows a generator's last yield, built again
        return rest.function() or types.FunctionType(frame.f_code, frame.f_globals)
    definition = definition or _registry.owner(frame.f_code)
    if definition is None or definition.code is None:
        code = frame.f_code
    else:
        code = definition.code
    closure = None
    if code.co_freevars:
        held = dict(zip(cells.__code__.co_freevars, cells.__closure__)) if cells else {}
        if any(name not in held for name in code.co_freevars):
            code = _remapped_restart(definition, held, frame)
        closure = tuple(held[name] for name in code.co_freevars) or None
    target = types.FunctionType(code, frame.f_globals, code.co_name, None, closure)
    # the defaults as the reload left them in the live functions (a fix may
    # add a parameter with a default, which the failed call did not pass)
    live = next((fn for fn in list(definition.functions) if fn.__code__ is code), None) \
        if definition is not None else None
    if live is not None:
        target.__defaults__, target.__kwdefaults__ = live.__defaults__, live.__kwdefaults__
    return target


def _remapped_restart(definition, held, frame):
    """The code to call again when the new code needs free variables that
    the failed closure (its cells ``held``) lacks: remapped, with the
    holders of the function that failed, or found from the failed frame's
    callers."""
    remap = definition.remap
    shape = tuple(sorted(held))
    template = remap.templates.get(shape) if remap is not None else None
    if template is None:
        return frame.f_code
    cells = tuple(held[name] for name in shape)
    for fn in list(definition.functions):
        if fn.__code__.co_freevars == shape and fn.__closure__ is not None and all(
                a is b for a, b in zip(fn.__closure__, cells)) and fn in remap.holders:
            return remap.bind(template, remap.holders[fn])
    return remap.bind(template, remap.find(_missing_free(definition.code, held), cells,
                                            near=frame))


def _arguments(frame, record):
    """The arguments the failed call received, read from its frame; those
    typed at the prompt instead, the first time (``record``, a :class:`_Restart`)."""
    code = frame.f_code
    values = frame.f_locals
    names = code.co_varnames
    n_positional, n_keyword = code.co_argcount, code.co_kwonlyargcount
    typed, record.typed = record.typed, {}
    definition = record.definition or _registry.owner(code)
    defaults = definition.changed_defaults if definition is not None else {}

    def value(name):
        if name in typed:  # assigned at the prompt: the user's fix
            return typed[name]
        saved = _SAVED + name
        passed = values[saved] if saved in values else values[name]
        old, new = defaults.get(name, (_MISSING, _MISSING))
        # still the very object of the old default: the caller did not pass
        # it, so the edited default applies
        return new if passed is old else passed

    args = [value(name) for name in names[:n_positional]]
    kwargs = {name: value(name) for name in names[n_positional:n_positional + n_keyword]}
    extra = n_positional + n_keyword
    if code.co_flags & _CO_VARARGS:
        args += value(names[extra])
        extra += 1
    if code.co_flags & _CO_VARKEYWORDS:
        kwargs.update(value(names[extra]))
    return args, kwargs


def _call_again(cells, frame, record):
    """Call the function that ``frame`` runs, in its current code, with the
    arguments the failed call got (``record``: what the handler handed over)."""
    if not getattr(sys.excepthook, "_hides_hot_restart", False):
        _hide_in_excepthook()
    args, kwargs = _arguments(frame, record)
    return _restart_target(cells, frame, record.definition)(*args, **kwargs)


def _again(cells):
    """Call the failed function again; loop while its restarts fail again."""
    frame = sys._getframe(1)
    record = _taken_restart(frame)
    if record.loop is not None:
        return _settings.loops.run(cells, frame, record)
    if frame.f_back is not None and frame.f_back.f_code is _call_again.__code__:
        raise _Again  # this is itself a restarted call: restart from the first one
    _stops.restarting.add(id(frame))
    try:
        while True:
            try:
                return _call_again(cells, frame, record)
            except BaseException as exc:
                if not _runs_again(exc, frame):
                    raise
    finally:
        _stops.restarting.discard(id(frame))


def _runs_again(exc, frame):
    """After the call that :func:`_again` or :func:`_again_async` ran for
    ``frame`` raised ``exc``: run it again (a restart inside it asked for
    the first one, or the edited function refused the arguments and the
    user fixed it at the prompt)?  If not, ``exc`` propagates, without
    hot-restart's frames in its traceback."""
    if isinstance(exc, _Again):
        return True
    if isinstance(exc, TypeError) and _refused_arguments(exc, frame):
        return True
    _hide_own_frames(exc.__traceback__)
    return False


def _refused_arguments(exc, frame):
    """The edited function does not accept the failed call's arguments (its
    signature changed): say so and stop again at the same place, so that the
    user can fix it.  False when the TypeError came from the body, or when
    the user lets it propagate."""
    tb = exc.__traceback__  # from the frame that caught it: _again, then _call_again
    if tb is None or tb.tb_next is None or tb.tb_next.tb_next is not None \
            or tb.tb_next.tb_frame.f_code is not _call_again.__code__:
        return False  # raised inside the new call, not by calling it
    definition = _registry.owner(frame.f_code)
    name = definition.qualname if definition else frame.f_code.co_name
    refused = TypeError(f"the edited {name}() does not accept the arguments of the failed "
                        f"call ({exc}); fix its signature and continue again")
    refused.__traceback__ = types.TracebackType(None, frame, frame.f_lasti, frame.f_lineno)
    if _run_session(_Session(frame, refused, definition)):
        _mark_let_go(exc)  # the TypeError that propagates, not its description
        return False
    return True


async def _again_async(cells):
    """The same as :func:`_again`, for coroutine functions, with the same
    decisions (:func:`_runs_again`); the develop loop runs plain functions
    only (see :meth:`_Loops.refuse`)."""
    frame = sys._getframe(1)
    outer = frame.f_back
    if outer is not None and outer.f_code is _again_async.__code__:
        raise _Again
    record = _taken_restart(frame)
    _stops.restarting.add(id(frame))
    try:
        while True:
            try:
                return await _call_again(cells, frame, record)
            except BaseException as exc:
                if not _runs_again(exc, frame):
                    raise
    finally:
        _stops.restarting.discard(id(frame))


_PASSES_THROUGH.update({_again.__code__, _again_async.__code__})


class _Replay:
    """Which values of a restarted generator the consumer already has.

    A failed generator leaves its count (see :func:`_count_yields`): it goes
    up before each own yield hands out its value, and after each ``yield
    from`` finishes.  The new generator runs from the start, and each value
    it hands out is judged by its count then: below the failed one's, the
    consumer has it; equal, the consumer has it if it is the own yield that
    reached that count (and not a value of a ``yield from`` begun after
    it); above, it is new, and so is everything after it.  (Values of a
    ``yield from`` that was under way when the generator failed are not
    counted: they are handed out again.)
    """

    def __init__(self, frame, record):
        """For the generator that failed at ``frame`` (``record``: what its
        handler handed over, see :class:`_Restart`)."""
        failed = record.replay or _failed_count(frame, None)
        self.count, delegating = failed
        if delegating:
            _output.notice(f"{_code_qualname(frame.f_code)}() failed in a yield from; "
                           f"the values that iterator had handed out are handed out again")

    def skips(self, generator):
        """After ``generator`` (the new one) handed out a value: does the
        consumer have it already?"""
        frame = getattr(generator, "gi_frame", None) or getattr(generator, "ag_frame", None)
        now = frame.f_locals.get(_COUNT, 0) if frame is not None else 0
        if now != self.count:
            return now < self.count
        return getattr(generator, "gi_yieldfrom", None) is None  # an own yield


class _Rest:
    """What follows the last yield of a generator that failed there, as a
    function of the generator's variables, compiled from the current code:
    the statements after that yield (a yield directly in the function's
    body, or in the body of a ``try`` there, whose handlers and ``finally``
    come along).  A generator whose yields are all such statements (see
    :func:`_count_yields`) numbers them, so its count says it got past the
    last one.  Instrumented, and built again from the current code each
    time it is restarted (:attr:`_Registry.rests`)."""

    __slots__ = ("definition", "names", "name", "globals", "__weakref__")

    def __init__(self, definition, names, globals_):
        self.definition, self.names, self.globals = definition, names, globals_
        self.name = definition.qualname.rpartition(".")[2]

    @classmethod
    def after(cls, frame, count):
        """The rest of the generator that failed at ``frame`` with ``count``,
        or None if it did not fail after its last yield, or is a closure."""
        definition = _registry.owner(frame.f_code)
        if definition is None or frame.f_code.co_freevars or type(count) is not int \
                or count < 1 or _numbered_yields(frame.f_code) != count:
            return None
        values = frame.f_locals
        names = [n for n in frame.f_code.co_varnames if n.isidentifier() and n in values]
        return cls(definition, names, frame.f_globals)

    def arguments(self, frame):
        values = frame.f_locals
        return {n: values[n] for n in self.names if n in values}

    def function(self):
        """The rest, from the current code; None where it has no such rest."""
        code = self.definition.code
        tree = _tree_of(code) if code is not None else None
        node = tree and tree.get((code.co_name, code.co_firstlineno))
        if not isinstance(node, ast.FunctionDef):
            return None
        node = copy.deepcopy(node)
        body = _after_last_yield(node.body)
        if body is None:
            return None
        node.body, node.decorator_list, node.returns = body, [], None
        node.args = ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in self.names],
                                  vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                                  defaults=[])
        owner = _enclosing_class(code)
        holder = node if owner is None else ast.ClassDef(
            name=owner, bases=[], keywords=[], body=[node], decorator_list=[])
        tree = _Maker.like(node).fill(ast.Module(body=[holder], type_ignores=[]))
        _instrument_tree(tree)
        module = compile(tree, code.co_filename, "exec", dont_inherit=True)
        rest = next(c for c in _function_codes(module).values() if c.co_name == node.name)
        if rest.co_freevars:  # super() in a method: no class cell to give it
            return None
        _registry.rests[rest] = self
        return types.FunctionType(rest, self.globals, node.name)


def _failed_count(frame, exc):
    """The count of a failed generator's frame, as its restart must replay
    past it, and whether it failed in a ``yield from`` (whose values so far
    are not counted).  If it failed between an own yield's count and the
    yield (its value was being computed), the consumer never had that
    value: the count is then taken as half a step below, so that the value
    with that count is handed out again and none before it is."""
    count = frame.f_locals.get(_COUNT, 0)
    tb = exc.__traceback__ if exc is not None else None
    while tb is not None and tb.tb_frame is not frame:
        tb = tb.tb_next
    lasti = tb.tb_lasti if tb is not None else frame.f_lasti
    # in the code's order: was the count stored, with no own yield since,
    # up to where it failed; and does an own yield come next after it?
    stored, delegating, previous = False, False, None
    for ins in dis.get_instructions(frame.f_code):
        names = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
        store = ins.opname.startswith("STORE_FAST") and _COUNT in names
        # a yield from (or an await) hands values out at a yield after SEND
        own_yield = ins.opname == "YIELD_VALUE" and previous != "SEND"
        previous = ins.opname
        if ins.offset <= lasti:
            # the instruction at lasti (3.12 may point into its inline cache)
            delegating = ins.opname in ("SEND", "YIELD_FROM", "END_SEND", "CLEANUP_THROW")
            stored = store or (stored and not own_yield)
        elif not stored or store or own_yield:
            break
    else:
        own_yield = False
    return (count - 0.5 if stored and own_yield else count), delegating


def _again_gen(cells):
    """A failed generator, restarted: a new one from the current code with the
    same arguments, past the values the consumer already has (:class:`_Replay`).
    One that failed after its last yield (a yield fixture's teardown, a
    clean-up) runs only what follows that yield again (:class:`_Rest`)."""
    frame = sys._getframe(1)
    record = _taken_restart(frame)
    replay = _Replay(frame, record)
    rest = _Rest.after(frame, replay.count)
    if rest is not None:
        function, arguments = rest.function(), rest.arguments(frame)
        if function is not None:
            del frame
            _output.notice(f"{rest.name}() failed after its last yield: what "
                           f"follows that yield runs again, with its variables as they are")
            return function(**arguments)
    generator = _call_again(cells, frame, record)
    del frame
    try:
        value = next(generator)
        while replay.skips(generator):
            value = next(generator)
    except StopIteration as stop:
        return stop.value
    # the first value the consumer does not have: handed out as delegation
    # would, then the rest delegated natively
    while True:
        try:
            sent = yield value
        except GeneratorExit:
            generator.close()
            raise
        except BaseException as exc:
            try:
                value = generator.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        if sent is None:
            return (yield from generator)
        try:
            value = generator.send(sent)
        except StopIteration as stop:
            return stop.value


async def _again_agen(cells):
    """The same as :func:`_again_gen`, for async generators."""
    frame = sys._getframe(1)
    record = _taken_restart(frame)
    replay = _Replay(frame, record)
    generator = _call_again(cells, frame, record)
    del frame
    try:
        value = await generator.__anext__()
        while replay.skips(generator):
            value = await generator.__anext__()
    except StopAsyncIteration:
        return
    yield value
    async for value in generator:
        yield value


def _track(fn):
    """Applied to every function made at run time from instrumented code (a
    closure): the registry learns of it, so a reload can update it too."""
    definition = _registry.owner(fn.__code__)
    if definition is not None:
        definition.functions.add(fn)
        if definition.code is None:
            definition.code = fn.__code__
            definition.defaults = _registry.default_texts(definition, fn.__code__)
        elif fn.__code__ is not definition.code:
            # made by a frame that still runs the enclosing function's old
            # code: it runs the current code too
            remap = definition.remap
            if remap is not None and fn.__code__.co_freevars in remap.templates:
                remap.holders[fn] = remap.find(
                    _missing_free(definition.code, fn.__code__.co_freevars),
                    fn.__closure__ or (), near=sys._getframe(0))
            definition.update(fn)
    return fn


def _super(owner, obj):
    """``super()`` for reloaded code whose function has no ``__class__`` cell."""
    cls = obj if isinstance(obj, type) else type(obj)
    for klass in cls.__mro__:
        if klass.__qualname__ == owner:
            return super(klass, obj)
    raise ReloadException(f"cannot find the class {owner} of {obj!r} for super(); "
                          f"restart the program to use super() here")


#: What instrumented code calls, by the names it uses.  They live in
#: builtins; a ``__main__`` module with instrumented code holds them too
#: (:func:`_carry_runtime`).
def _loop_enter():
    """The first statement of a function under ``--loop``: a call from the
    program starts the develop loop (through the handler, which keeps the
    call's arguments); the loop's own runs, and runs with no terminal, go on."""
    frame = sys._getframe(1)
    if frame.f_back is not None and frame.f_back.f_code is _call_again.__code__:
        return
    if _has_terminal() and _session.get() is None:
        raise _LoopStart


_RUNTIME = {_PROPAGATE: _propagate, _MAIL: _letters,
            _EXCEPTION: sys.exception, _AGAIN: _again, _AGAIN_ASYNC: _again_async,
            _AGAIN_GEN: _again_gen, _AGAIN_AGEN: _again_agen,
            _SUPER: _super, _TRACK: _track, _LOOP_ENTER: _loop_enter}
builtins.__dict__.update(_RUNTIME)


def _carry_runtime(namespace):
    """Put the names instrumented code calls into the globals of the
    ``__main__`` module.  A function of ``__main__`` sent to another process
    by value (cloudpickle: Ray, Dask, joblib's loky) takes the globals it
    uses along, and these by reference: unpickling it imports hot_restart
    there, so its code runs as it would without hot-restart, instead of
    failing with a NameError in a process that never imported it."""
    if namespace.get("__name__") == "__main__" and namespace.get(_PROPAGATE) is not _propagate:
        namespace.update(_RUNTIME)


###############################################################################
# Public API
###############################################################################

def _innermost(obj):
    """The plain functions inside a decorated object, innermost first."""
    found, seen = [], set()
    todo = [obj]
    while todo and len(seen) < 64:
        item = todo.pop()
        if id(item) in seen or item is None or not callable(item) and not isinstance(
                item, (staticmethod, classmethod, property, functools.cached_property)):
            continue
        seen.add(id(item))
        if isinstance(item, (staticmethod, classmethod)):
            todo.append(item.__func__)
        elif isinstance(item, property):
            todo += [item.fget, item.fset, item.fdel]
        elif isinstance(item, functools.cached_property):
            todo.append(item.func)
        elif isinstance(item, types.MethodType):
            todo.append(item.__func__)
        else:
            if isinstance(item, types.FunctionType):
                found.append(item)
            try:  # read __dict__ directly: no user __getattr__ runs
                todo.append(object.__getattribute__(item, "__dict__").get("__wrapped__"))
            except (AttributeError, TypeError):
                pass
    return found


def _functions_of(value, belongs):
    """The functions inside ``value`` that ``belongs`` accepts; none if marked no_wrap."""
    if isinstance(value, type):
        return []
    found = _innermost(value)
    if any(getattr(fn, _NO_WRAP_ATTR, False) for fn in found):
        return []
    return [fn for fn in found if belongs(fn)]


def _wrap_functions(functions, propagated=(), wanted=None, homes=None):
    """Instrument ``functions``; one warning per file for those left as they
    are.  ``homes``: ``{id(fn): _Home}`` for those that can be replaced."""
    problems = {}
    _settings.elsewhere.start_holding()
    for fn in functions:
        home = homes.get(id(fn)) if homes else None
        problem = _registry.instrument(fn, propagated, home)
        if problem:
            problems.setdefault(problem, []).append(fn.__qualname__)
    if not _registry.batched:
        _rekey_code_holders()
    if wanted is not None and not functions and callable(wanted):
        name = getattr(wanted, "__qualname__", repr(wanted))
        problems[_Refusal("", f"{name} is not a Python function (a builtin?)")] = []
    for problem, names in problems.items():
        warnings.warn(_notice(f"{problem.text(', '.join(names))}; it is left as it is"),
                      HotRestartWarning, stacklevel=3)


def _enabled():
    """``HOT_RESTART=0`` in the environment turns every wrap into a no-op."""
    return os.environ.get("HOT_RESTART", "1") != "0"


def wrap(fn=None, *, propagated_exceptions=()):
    """Make ``fn`` open the debugger when it raises, and restart on continue.

    Use it bare (``@wrap``) or with options (``@wrap(propagated_exceptions=
    (KeyError,))``: those exceptions propagate without stopping).  The
    function is instrumented in place and the same object is returned, so
    every reference to it, taken before or after, runs the instrumented code.
    For a decorated function (``functools.wraps`` chains, ``functools.cache``,
    ``staticmethod``, ``classmethod``, ``property``) the innermost function
    is instrumented.  A function with no source file is left as it is, with
    a warning.
    """
    if fn is None:
        return functools.partial(wrap, propagated_exceptions=propagated_exceptions)
    if isinstance(fn, type):
        return wrap_class(fn)
    if _enabled():
        _wrap_functions(_innermost(fn), propagated_exceptions, wanted=fn)
    return fn


def wrap_class(cls):
    """Wrap every method of ``cls``, and of the classes defined inside it.

    Static methods, class methods and properties are included; methods
    marked with :func:`no_wrap` are not.  Returns ``cls``.
    """
    if not _enabled():
        return cls
    module = sys.modules.get(cls.__module__)
    written = _written_in(getattr(module, "__file__", None))
    functions, homes = [], {}
    _collect_class(cls, functions, homes)
    _wrap_functions([fn for fn in functions if written(fn)], homes=homes)
    state = _registry.state_for(_source_path(cls, functions))
    if state is not None:
        state.wrapped_classes.update(_class_names(cls))
    return cls


def _class_names(cls):
    names = [cls.__qualname__]
    for value in vars(cls).values():
        if isinstance(value, type) and value.__qualname__.startswith(cls.__qualname__ + "."):
            names += _class_names(value)
    return names


def _source_path(cls, functions):
    if functions:
        return functions[0].__code__.co_filename
    module = sys.modules.get(cls.__module__)
    return getattr(module, "__file__", None)


def _collect_class(cls, out, homes):
    if _NO_WRAP_ATTR in vars(cls):
        return
    prefix = cls.__qualname__ + "."
    for key in list(vars(cls)):
        _home(cls, key, homes)
        value = vars(cls)[key]
        if isinstance(value, type) and value.__qualname__.startswith(prefix):
            _collect_class(value, out, homes)
        else:
            out += _functions_of(value, lambda fn: fn.__qualname__.startswith(prefix))


def _home(owner, key, homes):
    """Note in ``homes`` the :class:`_Home` of the function at ``owner[key]``, if any."""
    home = _Home.of(owner, key)
    if home is not None:
        namespace = owner if type(owner) is dict else vars(owner)
        homes[id(namespace[key])] = home


def wrap_module(module_or_name=None):
    """Wrap every function and class defined in a module.

    With no argument, the calling module.  Only what the module itself
    defines is wrapped, not what it imported.  Costs about one compile of
    the module's source, which is never executed.
    """
    if module_or_name is None:
        module_or_name = sys._getframe(1).f_globals["__name__"]
    module = (sys.modules[module_or_name] if isinstance(module_or_name, str)
              else module_or_name)
    if not _enabled():
        return module
    name = module.__name__
    namespace = vars(module)
    functions, homes = [], {}
    for key in list(namespace):
        _home(namespace, key, homes)
        value = namespace[key]
        if isinstance(value, type):
            if getattr(value, "__module__", None) == name:
                _collect_class(value, functions, homes)
        else:
            functions += _functions_of(value, lambda fn: fn.__module__ == name)
    written = _written_in(getattr(module, "__file__", None))
    _wrap_functions([fn for fn in functions if written(fn)], homes=homes)
    state = _registry.state_for(getattr(module, "__file__", None), vars(module))
    if state is not None:
        state.module_wrapped = True
        state.namespace = vars(module)
    return module


def _written_in(path):
    """Accepts the functions whose source is the file ``path``: not the
    methods that dataclasses, namedtuple or NamedTuple generate, nor
    lambdas (no statement to put in a handler) and the ``__annotate__``
    functions of 3.14, which are left out silently."""
    real = os.path.realpath(path) if path else None

    def accept(fn):
        code = fn.__code__
        if _generated(code) or code.co_filename.startswith("<"):
            return False
        return (real is None or code.co_filename == path
                or os.path.realpath(code.co_filename) == real)
    return accept


def wrap_modules(*patterns):
    """Wrap every loaded module whose name matches one of the fnmatch
    ``patterns`` (``wrap_modules("mylib", "mylib.*")``)."""
    with _batched():  # one look through the heap for all of them
        for name, module in list(sys.modules.items()):
            if module is not None and name != __name__ and any(
                    fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                wrap_module(module)


@contextlib.contextmanager
def _batched():
    """Wrap several modules with one look through the heap at the end (see
    :func:`_rekey_code_holders`)."""
    _registry.batched += 1
    try:
        yield
    finally:
        _registry.batched -= 1
    if not _registry.batched:
        _rekey_code_holders()


def no_wrap(fn):
    """Keep ``fn`` out of :func:`wrap_module` and :func:`wrap_class`."""
    for inner in _innermost(fn) or [fn]:
        setattr(inner, _NO_WRAP_ATTR, True)
    try:
        setattr(fn, _NO_WRAP_ATTR, True)
    except (AttributeError, TypeError):
        pass
    return fn


ignore = no_wrap

_restarting = contextvars.ContextVar("hot_restart_restarting_module", default=False)


def is_restarting_module():
    """True while :func:`reload_module` re-executes a module's source."""
    return _restarting.get()


def catch_all(target, reports=True):
    """Declare that ``target`` catches exceptions only to report them and go
    on, as a web framework's request handler or a task runner does (an
    error page, a logged traceback, a task marked failed): an exception
    that reaches it is then a crash, and the debugger opens where it was
    raised.  ``target`` is a function or method, or its dotted name
    (``"package.module.Class.method"``, found once its module is imported).
    With ``reports=False``, ``target`` is not one: that takes back a
    declaration, or switches off one that hot-restart knows (see the
    README's list).  Also ``--catch-all NAME`` and ``--no-catch-all NAME`` on
    the command line."""
    declared = _stops.catch_alls
    if isinstance(target, str):
        declared.pending[target] = bool(reports)
    else:
        code = getattr(getattr(target, "__func__", target), "__code__", None)
        if code is None:
            raise TypeError(f"catch_all() takes a function or its dotted name, "
                            f"not {type(target).__name__}")
        key = (code.co_filename, code.co_firstlineno)
        (declared.off if reports else declared.on).discard(key)
        (declared.on if reports else declared.off).add(key)
    _caches.catchers.clear()
    _caches.forget_verdicts()


def _declared_catch_alls():
    """:attr:`_Stops.catch_alls`, with the dotted names whose module is
    imported by now resolved."""
    declared = _stops.catch_alls
    for name, reports in list(declared.pending.items()):
        module_name, obj = name, None
        while module_name and obj is None:
            module_name, _, _ = module_name.rpartition(".")
            obj = sys.modules.get(module_name)
        if obj is None:
            continue
        try:
            for part in name[len(module_name) + 1:].split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        del declared.pending[name]
        catch_all(obj, reports)
    return declared


def reload_module(module_or_name=None):
    """Run a module's source again, in a copy of its namespace.

    With no argument: the module of the function stopped in the debugger,
    or else the calling module.  When the run succeeds its names replace
    the module's; when it raises, the module is left as it was.  Code that
    must not run twice can test :func:`is_restarting_module`.  For the
    program's ``__main__``, ``__name__`` is the file's name meanwhile, so
    that its ``if __name__ == "__main__":`` block does not run again.
    """
    if module_or_name is None:
        session = _session.get()
        frame = session.frame if session else sys._getframe(1)
        module_or_name = frame.f_globals["__name__"]
    module = (sys.modules[module_or_name] if isinstance(module_or_name, str)
              else module_or_name)
    path = getattr(module, "__file__", None)
    if not path:
        raise ReloadException(f"module {module.__name__} has no source file to run again")
    linecache.checkcache(path)
    source = "".join(linecache.getlines(path))
    code = compile(source, path, "exec", dont_inherit=True)
    namespace = dict(vars(module))
    if module.__name__ == "__main__":  # the main block must not run again
        namespace["__name__"] = os.path.splitext(os.path.basename(path))[0]
    token = _restarting.set(True)
    try:
        exec(code, namespace)
    finally:
        _restarting.reset(token)
    namespace["__name__"] = module.__name__
    vars(module).update(namespace)
    wrap_module(module)
    return module


restart_module = reload_module


def reload():
    """Load every edit to files with wrapped code now, and print what changed.

    What continue does before calling the failed function again, without
    continuing: changed functions get their new code in place, new
    functions and methods are defined, removed ones and changed module-level
    statements are reported.  Nothing is applied if any changed file fails
    to compile.  Prints one line per changed file, and nothing when nothing
    changed.
    """
    message = _reload().message
    if message:
        _output.say(message)


def reraise():
    """At the debugger prompt: stop and let the exception propagate."""
    session = _session.get()
    if session is None:
        raise ReloadException("reraise() works only at the hot-restart debugger prompt")
    session.outcome = _Outcome.RERAISE


def exit(code=1):
    """End the program.  At the debugger prompt, it ends once the prompt closes."""
    session = _session.get()
    if session is None:
        raise SystemExit(code)
    session.outcome = _Outcome.EXIT
    session.exit_code = code


###############################################################################
# Instrumented from birth: the import hook and the command line
###############################################################################

class _InstrumentingLoader(importlib.machinery.SourceFileLoader):
    """Loads a project module from its instrumented code, so its functions are
    wrapped from the moment they exist, even while the module still runs.
    ``prepare`` transforms the tree first (pytest's assertion rewriting)."""

    def __init__(self, fullname, path, prepare=None):
        super().__init__(fullname, path)
        self.prepare = prepare

    def get_code(self, fullname):
        return _registry.version(self.get_filename(fullname), prepare=self.prepare).module

    def exec_module(self, module):
        _settings.elsewhere.start_holding()
        super().exec_module(module)
        state = _registry.files.get(self.path)
        if state is not None:
            state.module_wrapped, state.namespace = True, vars(module)


@functools.lru_cache(maxsize=None)
def _install_folders():
    paths = sysconfig.get_paths()
    return tuple(os.path.join(os.path.realpath(paths[k]), "")
                 for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths)


def _installed(where):
    """Is the real path ``where`` in the standard library or an installed
    package (never the project's own code)?"""
    return (where.startswith(_install_folders()) or "site-packages" in where
            or "dist-packages" in where)


class _ProjectFinder:
    """Finds the project's modules and hands them the instrumenting loader.

    The project is the files under ``roots`` (the script's folder), never
    the standard library or site-packages; ``wrap`` and ``no_wrap`` are
    fnmatch patterns over module names that add or remove modules.
    """

    def __init__(self, roots, wrap=(), no_wrap=()):
        self.roots = [os.path.join(os.path.realpath(r), "") for r in roots]
        self.wrap, self.no_wrap = list(wrap), list(no_wrap)

    def wanted(self, name, origin):
        if name == __name__ or any(fnmatch.fnmatchcase(name, p) for p in self.no_wrap):
            return False
        if any(fnmatch.fnmatchcase(name, p) for p in self.wrap):
            return True
        where = os.path.realpath(origin)
        return any(where.startswith(r) for r in self.roots) and not _installed(where)

    def find_spec(self, name, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if (spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader
                or not self.wanted(name, spec.origin)):
            return None
        spec.loader = _InstrumentingLoader(name, spec.origin)
        return spec

    def invalidate_caches(self):
        pass


def install_import_hook(roots, wrap=(), no_wrap=()):
    """Instrument, from birth, every module imported from now on from under
    ``roots`` (and those matching ``wrap``, but not ``no_wrap``)."""
    finder = _ProjectFinder(roots, wrap, no_wrap)
    sys.meta_path.insert(0, finder)
    return finder


_USAGE = """usage: python -m hot_restart [options] script.py [args...]
       python -m hot_restart [options] -m package.module [args...]
       python -m hot_restart attach [--list] [PID]

Run a Python program with every function of the project wrapped: when one
crashes, a debugger opens there; fix the file and type c to go on.

options:
  --wrap PATTERN     also wrap the modules matching PATTERN (fnmatch; repeatable)
  --no-wrap PATTERN  do not wrap the modules matching PATTERN (repeatable)
  --debugger NAME    pdb, ipdb, pudb or pydevd (default: $HOT_RESTART_DEBUGGER, else chosen)
  --catch-all NAME   the function NAME (package.module.function) catches errors only to
                     report them: reaching it is a crash (repeatable)
  --no-catch-all NAME  NAME is not such a function, even if hot-restart knows it as one
  --watch            apply each saved edit to the running program, with no crash
  --loop FUNCTION    (module:function; repeatable) when FUNCTION is called, run it,
                     show its result, and run it again on each save until c
  --xloop FUNCTION   the same, only when FUNCTION raises
  --attach           with no terminal, a crash waits for a debugger to attach
                     (python -m hot_restart attach), as HOT_RESTART_ATTACH=1 does
  --attach-timeout SECONDS  wait that long, then let the exception propagate
  --no-children      the Python programs this one starts run without hot-restart
  --version          print the version and exit
  -h, --help         print this help and exit

The project is the script's folder and the current folder, each with the
tree it belongs to (up to the nearest pyproject.toml, setup.py, setup.cfg or
.git), never the standard library, site-packages or a virtual environment.
With no terminal on stdin, or with HOT_RESTART=0, the program runs exactly as
plain python would run it."""


def _parse_command_line(argv):
    """``(options, script or None, module or None, program arguments)``."""
    options = {"wrap": [], "no-wrap": [], "debugger": None, "catch-all": [],
               "no-catch-all": [], "attach": False, "attach-timeout": None, "watch": False,
               "no-children": False,
               "loop": [], "xloop": []}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            _print_and_exit(_USAGE)
        if arg == "--version":
            _print_and_exit(f"hot-restart {__version__}")
        name, eq, value = arg.partition("=")
        if name in ("--wrap", "--no-wrap", "--debugger", "--catch-all", "--no-catch-all",
                    "--attach-timeout"):
            if not eq:
                if i + 1 >= len(argv):
                    _usage_error(f"{name} needs a value")
                value, i = argv[i + 1], i + 1
            if name == "--debugger":
                options["debugger"] = value
            elif name == "--attach-timeout":
                try:
                    float(value)
                except ValueError:
                    _usage_error(f"--attach-timeout needs a number of seconds, not {value!r}")
                options["attach-timeout"] = value
            else:
                options[name[2:]].append(value)
        elif arg == "--attach":
            options["attach"] = True
        elif arg == "--no-children":
            options["no-children"] = True
        elif arg == "--watch":
            options["watch"] = True
        elif name in ("--loop", "--xloop"):
            if not eq:
                if i + 1 >= len(argv):
                    _usage_error(f"{name} needs a function's name")
                value, i = argv[i + 1], i + 1
            options[name[2:]].append(value)
        elif arg == "-m":
            if i + 1 >= len(argv):
                _usage_error("-m needs a module name")
            return options, None, argv[i + 1], argv[i + 2:]
        elif arg.startswith("-"):
            _usage_error(f"unknown option {arg}")
        else:
            return options, arg, None, argv[i + 1:]
        i += 1
    _usage_error("no script or -m module to run")


# Development servers whose reloader runs the app in a child process (with
# no terminal, restarted on every save): the program and its command, the
# options that turn the reloader on (none: it is on unless turned off), and
# the one that turns it off.
_RELOADERS = (
    ("flask", "run", ("--debug", "--reload"), "--no-reload"),
    ("uvicorn", None, ("--reload",), None),
    ("manage.py", "runserver", (), "--noreload"),
    ("django", "runserver", (), "--noreload"),
)


def _reloader_notice(script, module, args):
    """What to tell the user when the program is a development server whose
    reloader would take the crash away into a child process; else None."""
    program = module or os.path.basename(script or "")
    given = {a.split("=")[0] for a in args}
    for name, command, on, off in _RELOADERS:
        if program != name or command is not None and command not in args:
            continue
        trigger = next((o for o in on if o in given), None)
        if off in given or on and trigger is None:
            return None
        how = " ".join(w for w in (program, command, trigger or f"without {off}") if w)
        advice = f"add {off}" if off else f"leave out {trigger}"
        return _notice(f"{how} runs the app in a child process, where with --no-children "
                       f"a crash cannot stop; {advice} to keep the server in this process")
    return None


def _print_and_exit(text):
    """Print ``text`` and end; a reader that went away (``| head``) is no error."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(0)


def _usage_error(message):
    _output.say(_USAGE.splitlines()[0] + "\n" + _notice(f"error: {message}"))
    raise SystemExit(2)


def main(argv=None):
    """The command line: run a script or module as plain python would, with
    the project's functions wrapped from birth.  See ``python -m hot_restart -h``."""
    global DEBUGGER
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "attach" and not os.path.exists("attach"):
        return _settings.elsewhere.attach(argv[1:])
    options, script, module, args = _parse_command_line(argv)
    for name in options["loop"]:
        _settings.loops.add(name, "always")
    for name in options["xloop"]:
        _settings.loops.add(name, "raises")
    if options["watch"] and _enabled():
        _settings.watch()
    if options["attach"] or options["attach-timeout"]:
        _settings.elsewhere.ask_for_attach(options["attach"], options["attach-timeout"])
    _settings.elsewhere.forget()
    if options["debugger"]:
        DEBUGGER = options["debugger"]
    for name in options["catch-all"]:
        catch_all(name)
    for name in options["no-catch-all"]:
        catch_all(name, reports=False)
    active = _enabled() and (_has_terminal() or _debuggers.remote() or options["watch"]
                             or _settings.elsewhere.place() is not None)
    if active:
        _settings.elsewhere.start_holding()
    notice = _reloader_notice(script, module, args) if active and options["no-children"] \
        else None
    if notice:
        _output.say(notice)
    try:
        if script is not None:
            _run_script(script, args, options, active)
        else:
            _run_module(module, args, options, active)
    except SystemExit:
        raise
    except BaseException as exc:  # as the interpreter would report it, without our frames
        tb = exc.__traceback__
        while tb is not None and _own_frame(tb.tb_frame):
            tb = tb.tb_next
        _hide_own_frames(tb)
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        if active and not isinstance(exc, _NEVER_STOP) and not (_let_go(exc) or
                                                                _let_go_elsewhere(exc)):
            _post_mortem(exc, tb)
        if isinstance(exc, KeyboardInterrupt):
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        raise SystemExit(1) from None


def _post_mortem(exc, tb):
    """A crash reached the top of the program with no stop on its way (in
    module-level code, or past a handler that re-raised under a condition):
    open the debugger on its traceback, as ``python -m pdb`` does."""
    if tb is None or not _has_terminal() or _debuggers.remote():
        return
    debugger = _debuggers.get()
    pdb = sys.modules.get("pdb")
    if pdb is None or not isinstance(debugger, pdb.Pdb):  # pudb has its own post-mortem
        return
    debugger.message(_notice(f"{type(exc).__name__} reached the top of the program; no "
                             f"wrapped function was running to call again, so nothing can "
                             f"be restarted from here.\nThe debugger opens on the traceback "
                             f"to inspect it; q (or c) ends the program."))
    debugger.stdin, debugger.stdout = sys.stdin, sys.stdout
    debugger.reset()
    debugger.interaction(None, tb)


def _run_script(script, args, options, active):
    path = os.path.abspath(script)
    if not os.path.exists(path):
        _output.say(f"{sys.executable}: can't open file {path!r}: "
                    f"[Errno 2] No such file or directory")
        raise SystemExit(2)
    sys.argv = [script, *args]
    if os.path.isdir(path) or not path.endswith(".py") and _is_zip(path):
        return _run_main_of(path, options, active)
    folder = os.path.dirname(os.path.realpath(path))
    sys.path[0] = folder
    main_module = types.ModuleType("__main__")
    main_module.__dict__.update(__file__=path, __cached__=None, __builtins__=builtins,
                                __loader__=importlib.machinery.SourceFileLoader("__main__",
                                                                                path))
    sys.modules["__main__"] = main_module
    if active:
        _activate(_project_roots(folder, os.getcwd()), options)
        code = _registry.version(path).module
        state = _registry.files[path]
        state.module_wrapped, state.namespace = True, vars(main_module)
        _carry_runtime(vars(main_module))
    else:
        with open(path, "rb") as f:
            code = compile(f.read(), path, "exec", dont_inherit=True)
    exec(code, vars(main_module))


def _is_zip(path):
    import zipfile
    return zipfile.is_zipfile(path)


def _run_main_of(path, options, active):
    """A folder or a zip file with a ``__main__.py`` (``python app/``,
    ``python app.pyz``), run as python runs it: its ``__main__`` module,
    found on ``sys.path``, where the folder (or the zip) comes first.  A
    folder's modules are the project's; a zip's cannot be edited, and run
    as they are."""
    sys.path[0] = path
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    if active:
        _activate(_project_roots(folder, os.getcwd()), options)
    runpy.run_path(path, run_name="__main__")


def _activate(roots, options):
    """What the command line sets up in a program it runs with hot-restart
    active: the project's modules instrumented as they are imported, and
    its Python children (those multiprocessing starts, and any other)
    set up the same way."""
    _settings.elsewhere.roots = roots
    install_import_hook(roots, options["wrap"], options["no-wrap"])
    _settings.children.carry(roots, options)
    _after_import("multiprocessing.spawn", _ChildSetup(roots, options).carry)
    _after_import("ray", _settings.on_ray)
    _after_import("distributed", _settings.on_dask)


_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def _project_roots(*folders):
    """What a user calls the project: the script's folder and the folder the
    command runs in (as coverage.py counts them), each with the tree it
    belongs to (the nearest folder above with a pyproject.toml, setup.py,
    setup.cfg or .git), where a src/ layout keeps the package that the
    script imports (installed in editable mode, or on sys.path).  A folder
    of the standard library or of installed packages is never the project."""
    roots = []
    for folder in folders:
        if _installed(os.path.join(os.path.realpath(folder), "")):
            continue
        here = folder
        found = [folder]
        while True:
            if any(os.path.exists(os.path.join(here, m)) for m in _PROJECT_MARKERS):
                if here != folder:
                    found.append(here)
                break
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
        roots += [r for r in found if r not in roots]
    return roots


def _run_module(module, args, options, active):
    sys.argv = [module, *args]
    sys.path[0] = os.getcwd()
    if active:
        _activate(_project_roots(os.getcwd()), options)
        _carry_runtime(vars(sys.modules["__main__"]))
    runpy._run_module_as_main(module, alter_argv=True)


class _ChildSetup:
    """The command line's set-up, carried to the children that
    multiprocessing starts with spawn or forkserver: they run a fresh
    interpreter that imports the main module and what the task needs.  It
    rides in the preparation data that multiprocessing sends each child,
    and unpickling it there (before the child imports anything of the
    program) imports hot-restart and installs the import hook."""

    def __init__(self, roots, options):
        self.args = (list(roots), options["wrap"], options["no-wrap"], DEBUGGER,
                     options["catch-all"], options["no-catch-all"])

    def carry(self, spawn):
        original = spawn.get_preparation_data

        @functools.wraps(original)
        def get_preparation_data(name):
            data = original(name)
            data["hot_restart"] = self
            return data

        spawn.get_preparation_data = get_preparation_data

    def __reduce__(self):
        folder = os.path.dirname(os.path.abspath(__file__))
        source = (f"import sys\nsys.path.append({folder!r})\ntry:\n    import hot_restart\n"
                  f"finally:\n    sys.path.remove({folder!r})\n"
                  f"hot_restart._set_up_child(*{self.args!r})\n")
        return exec, (source,)


def _set_up_child(roots, wrap, no_wrap, debugger, catch_alls, not_catch_alls):
    """In a child of the command line (one that multiprocessing spawned, or
    any other Python program started from the run): as the command line did."""
    global DEBUGGER
    DEBUGGER = debugger
    for name in catch_alls:
        catch_all(name)
    for name in not_catch_alls:
        catch_all(name, reports=False)
    install_import_hook(roots, wrap, no_wrap)
    _after_import("multiprocessing.spawn", _wrap_mp_main)


def _wrap_mp_main(spawn):
    fixup = spawn._fixup_main_from_path

    def fixup_main_from_path(main_path):  # the script runs again as __mp_main__
        fixup(main_path)
        main = sys.modules.get("__mp_main__")
        if main is not None:
            wrap_module(main)

    spawn._fixup_main_from_path = fixup_main_from_path


class _AfterImport:
    """A finder that runs ``then(module)`` right after the module ``name``
    is first imported, then leaves ``sys.meta_path``."""

    def __init__(self, name, then):
        self.name, self.then = name, then

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module, then = spec.loader.exec_module, self.then

        def run(module):
            exec_module(module)
            then(module)

        spec.loader.exec_module = run
        return spec


def _after_import(name, then):
    module = sys.modules.get(name)
    if module is not None:
        then(module)
    else:
        sys.meta_path.insert(0, _AfterImport(name, then))


###############################################################################
###############################################################################
# Part II: the settings, each reaching the core through _settings
###############################################################################
###############################################################################

###############################################################################
# Sessions held elsewhere: child processes, workers and detached programs
###############################################################################
#
# A process with no terminal of its own holds its sessions in one of two
# places.  When an ancestor runs in a terminal with hot-restart active, that
# ancestor is the *holder*: it listens on a socket named in the environment
# (which every descendant inherits), and a child that stops connects to it,
# waits its turn, and runs its session over the connection; the holder shows
# it in its terminal while its own output waits.  With no terminal anywhere,
# a program that opted in (HOT_RESTART_ATTACH) listens on a socket of its
# own and waits for ``python -m hot_restart attach``.  Either way the
# sockets are Unix sockets in a folder only this user can enter, every peer
# is checked to be this user, and the first message must be this protocol's.
#
# The core asks two things: where a stop would be held (``_elsewhere.place()``,
# None for the process's own terminal), and, in the holder, for the terminal
# around its own sessions (``_elsewhere.terminal``).

_TERMINAL_ENV = "HOT_RESTART_TERMINAL"  # "pid host address": the process holding the terminal
_LISTEN_ENV = "HOT_RESTART_LISTEN"      # "tcp[:HOST[:PORT]]": the holder listens there
_TOKEN_ENV = "HOT_RESTART_TOKEN"        # the holder's secret, which a TCP client must send
_ATTACH_ENV = "HOT_RESTART_ATTACH"      # "1": with no terminal, a crash waits for attach
_ATTACH_TIMEOUT_ENV = "HOT_RESTART_ATTACH_TIMEOUT"  # seconds; then the exception propagates
_DIR_ENV = "HOT_RESTART_DIR"            # the folder of the sockets, if not the default
_PROTOCOL = 1


def _private_dir():
    """The folder of this user's sockets: ``$HOT_RESTART_DIR``, else
    ``hot-restart`` in ``$XDG_RUNTIME_DIR``, else ``/tmp/hot-restart-UID``;
    made with mode 0700, and refused unless it is this user's and private."""
    import stat
    path = os.environ.get(_DIR_ENV)
    if not path:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        path = (os.path.join(runtime, "hot-restart") if runtime and os.path.isdir(runtime)
                else os.path.join(os.environ.get("TMPDIR") or "/tmp",
                                  f"hot-restart-{os.getuid()}"))
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise _NoPlace(f"cannot make the folder {path} for the sessions' sockets ({exc}); "
                       f"set {_DIR_ENV} to a folder of yours") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise _NoPlace(f"{path} is not a folder that only you can enter (it must be yours, "
                       f"with mode 0700); remove it, or set {_DIR_ENV} to another")
    return path


def _socket_path(name):
    path = os.path.join(_private_dir(), name)
    if len(path.encode()) > 100:
        raise _NoPlace(f"the socket path {path} is too long for a Unix socket; "
                       f"set {_DIR_ENV} to a shorter folder")
    return path


def _listen(path):
    import socket
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    return listener


def _listen_tcp(spec):
    """A TCP listener for ``tcp[:HOST[:PORT]]`` (HOST 127.0.0.1 unless given),
    and the address that others connect to."""
    import socket
    _, _, rest = spec.partition(":")
    host, _, port = rest.partition(":")
    host = host or "127.0.0.1"
    listener = socket.create_server((host, int(port or 0)))
    if host in ("0.0.0.0", "::"):
        host = socket.gethostbyname(socket.gethostname())
    return listener, f"tcp:{host}:{listener.getsockname()[1]}"


# Sessions over TCP travel in TLS.  The holder makes a certificate for the
# run (a P-256 key, self-signed: the standard library's ssl cannot make
# one, so it is made here, and only that; the TLS is OpenSSL's) and hands
# its SHA-256 fingerprint to the workers with the token, as the cluster
# hands them other settings (the environment, Ray's runtime_env, Dask's
# plugin).  A worker pins it: it talks to the holder it was sent to, or to
# no one.  A client that does not speak TLS, or presents a certificate
# that is not the run's, gets nothing; one without the token is refused.

_FINGERPRINT_ENV = "HOT_RESTART_FINGERPRINT"  # sha256 of the holder's certificate, in hex

# NIST P-256 (SEC 2, secp256r1): the field, the curve's b, the base point, its order
_P256 = (0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff,
         0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b,
         (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
          0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5),
         0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551)


def _p256_add(one, two):
    """The sum of two points of P-256 (None: the point at infinity)."""
    p = _P256[0]
    if one is None:
        return two
    if two is None:
        return one
    (x1, y1), (x2, y2) = one, two
    if x1 == x2 and (y1 + y2) % p == 0:
        return None
    if one == two:
        slope = (3 * x1 * x1 - 3) * pow(2 * y1, -1, p) % p  # a = -3
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, p) % p
    x3 = (slope * slope - x1 - x2) % p
    return x3, (slope * (x1 - x3) - y1) % p


def _p256_times(k, point):
    found = None
    while k:
        if k & 1:
            found = _p256_add(found, point)
        point, k = _p256_add(point, point), k >> 1
    return found


def _der(tag, *parts):
    body = b"".join(parts)
    n = len(body)
    size = bytes([n]) if n < 0x80 else bytes([0x80 | (n.bit_length() + 7) // 8]) + \
        n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + size + body


def _der_int(n):
    return _der(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))  # (a leading 0 keeps it positive)


def _der_oid(dotted):
    first, second, *rest = map(int, dotted.split("."))
    body = bytearray([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7f]
        while arc > 0x7f:
            arc >>= 7
            chunk.append(0x80 | arc & 0x7f)
        body += bytes(reversed(chunk))
    return _der(0x06, bytes(body))


def _self_signed(name="hot-restart"):
    """``(certificate, private key)`` in PEM: a new P-256 key, and an X.509
    certificate of it signed by itself (ECDSA with SHA-256)."""
    import base64
    import hashlib
    import secrets
    import time
    _, _, base, order = _P256
    key = secrets.randbelow(order - 1) + 1
    x, y = _p256_times(key, base)
    point = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
    curve = _der_oid("1.2.840.10045.3.1.7")  # prime256v1
    signed_with = _der(0x30, _der_oid("1.2.840.10045.4.3.2"))  # ecdsa-with-SHA256
    who = _der(0x30, _der(0x31, _der(0x30, _der_oid("2.5.4.3"), _der(0x0c, name.encode()))))
    now = time.time()
    when = [_der(0x17, time.strftime("%y%m%d%H%M%SZ", time.gmtime(t)).encode())
            for t in (now - 86400, now + 30 * 86400)]
    tbs = _der(0x30, _der(0xa0, _der_int(2)), _der_int(secrets.randbits(63)), signed_with,
               who, _der(0x30, *when), who,
               _der(0x30, _der(0x30, _der_oid("1.2.840.10045.2.1"), curve),  # an EC key
                    _der(0x03, b"\x00" + point)))
    digest = int.from_bytes(hashlib.sha256(tbs).digest(), "big")
    r = s = 0
    while not (r and s):
        k = secrets.randbelow(order - 1) + 1
        r = _p256_times(k, base)[0] % order
        s = pow(k, -1, order) * (digest + r * key) % order
    signature = _der(0x30, _der_int(r), _der_int(s))
    certificate = _der(0x30, tbs, signed_with, _der(0x03, b"\x00" + signature))
    private = _der(0x30, _der_int(1), _der(0x04, key.to_bytes(32, "big")),
                   _der(0xa0, curve), _der(0xa1, _der(0x03, b"\x00" + point)))

    def pem(label, data):
        text = base64.encodebytes(data).decode().replace("\n", "")
        lines = [text[i:i + 64] for i in range(0, len(text), 64)]
        return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])

    return pem("CERTIFICATE", certificate), pem("EC PRIVATE KEY", private)


def _tls_server():
    """``(context, fingerprint)``: TLS for a holder listening on TCP, with a
    certificate made for this run.  A client may present no certificate
    (the token is its proof) or this one; any other is refused."""
    import hashlib
    import ssl
    certificate, key = _self_signed()
    folder = _private_dir()
    files = [os.path.join(folder, f"{kind}-{os.getpid()}.pem") for kind in ("cert", "key")]
    try:
        for path, text in zip(files, (certificate, key)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(text)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(*files)  # (read now: the files can go)
    finally:
        for path in files:
            with contextlib.suppress(OSError):
                os.unlink(path)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cadata=certificate)
    return context, hashlib.sha256(ssl.PEM_cert_to_DER_cert(certificate)).hexdigest()


def _tls_client(sock, address, fingerprint):
    """``sock``, in TLS with the holder at ``address`` if it presents the
    certificate whose fingerprint the run handed out; else OSError."""
    import hashlib
    import hmac
    import ssl
    if not fingerprint:
        sock.close()
        raise OSError(f"no certificate fingerprint for {address} ({_FINGERPRINT_ENV} is not "
                      f"set): a session goes over TCP only in TLS")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # pinned below
    try:
        secure = context.wrap_socket(sock)
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        raise OSError(f"no TLS with {address}: {exc}") from None
    presented = hashlib.sha256(secure.getpeercert(binary_form=True) or b"").hexdigest()
    if not hmac.compare_digest(presented, fingerprint):
        secure.close()
        raise OSError(f"{address} presents another certificate than the run's holder")
    return secure


def _connect(address, timeout=5):
    """A connected socket to a Unix socket's path, or to ``tcp:HOST:PORT``."""
    import socket
    if address.startswith("tcp:"):
        host, _, port = address[4:].rpartition(":")
        sock = _tls_client(socket.create_connection((host, int(port)), timeout), address,
                           os.environ.get(_FINGERPRINT_ENV, ""))
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
    sock.settimeout(None)
    return sock


def _dial(address, **hello):
    """``(channel, answer)``: a connection to the listener at ``address``,
    greeted with ``hello`` in the protocol, and the first message it sent
    back (None if none came).  OSError if it cannot be reached."""
    channel = _Channel(_connect(address))
    try:
        channel.send(**{"hot-restart": _PROTOCOL}, **hello)
    except OSError:
        channel.close()
        raise
    return channel, channel.receive()


def _peer_is_me(sock):
    """Is the process at the other end of ``sock`` this user's?  (Asked of
    the kernel where it can tell; the folder's mode guards the rest.)"""
    import socket
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    import struct
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, 12))
    return uid == os.getuid()


class _Channel:
    """One end of a session's connection: JSON messages, one a line.
    ``receive`` returns None once the connection is gone."""

    def __init__(self, sock):
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.lock = threading.Lock()

    def send(self, **message):
        import json
        data = (json.dumps(message) + "\n").encode()
        with self.lock:
            self.sock.sendall(data)

    def receive(self):
        import json
        try:
            line = self.reader.readline()
            return json.loads(line) if line else None
        except (OSError, ValueError):
            return None

    def close(self):
        with contextlib.suppress(OSError):
            self.reader.close()
            self.sock.close()


def _refusal(what):
    return _notice(f"this socket holds {what} of process {os.getpid()}; only "
                   f"hot-restart connects to it (python -m hot_restart attach)\n").encode()


def _greeted(sock, what, token=None):
    """``(channel, first message)`` of a new connection, if it comes from this
    user (over TCP: if it knows ``token``, the holder's secret) and speaks
    the protocol; anything else gets a refusal and None."""
    import hmac
    sock.settimeout(5)
    try:
        if token is not None or _peer_is_me(sock):
            channel = _Channel(sock)
            message = channel.receive()
            if isinstance(message, dict) and message.get("hot-restart") == _PROTOCOL and (
                    token is None or hmac.compare_digest(str(message.get("token", "")), token)):
                sock.settimeout(None)
                return channel, message
        sock.sendall(_refusal(what))
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sock.close()
    return None, None


def _about(session):
    """What a waiting session says of itself, for the lists and the first line."""
    frame, exc = session.frame, session.exc
    current = getattr(sys.modules.get("multiprocessing"), "current_process", None)
    name = current().name if current is not None else "MainProcess"
    if name == "MainProcess":
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        name = (f"pytest-xdist worker {worker}" if worker
                else program if program not in ("", "-c") else "python")
    import time
    return {"pid": os.getpid(), "name": name, "exception": type(exc).__name__,
            "message": str(exc)[:200], "function": _stopped_name(session),
            "file": _session_file(session), "line": exc.__traceback__.tb_lineno
            if exc.__traceback__ else frame.f_lineno, "since": time.time()}


def _describe_waiting(about):
    return (f"process {about['pid']} ({about['name']}): {about['exception']} in "
            f"{about['function']}() at {_short(about['file'])}:{about['line']}")


class _SessionStreams:
    """The standard streams of a session held elsewhere.  What is written
    goes to the client; reading a line asks the client for one, with the
    unfinished last line of output as the prompt.  When the connection
    drops, ``reconnect`` gives the next client (None: read end of file)."""

    encoding, errors = "utf-8", "replace"

    def __init__(self, channel, reconnect):
        self.channel, self.reconnect = channel, reconnect
        self.pending = []
        self.lock = threading.Lock()

    def write(self, text):
        with self.lock:
            self.pending.append(text)
        if "\n" in text:
            self.flush()
        return len(text)

    def _take(self, everything):
        with self.lock:
            text = "".join(self.pending)
            head, newline, tail = text.rpartition("\n")
            self.pending = [] if everything else [tail]
            return head + newline, tail

    def flush(self):
        out, _ = self._take(False)
        if out:
            with contextlib.suppress(OSError):
                self.channel.send(out=out)

    def readline(self, size=-1):
        out, prompt = self._take(True)
        while True:
            reply = None
            with contextlib.suppress(OSError):
                if out:
                    self.channel.send(out=out)
                self.channel.send(input=prompt)
                reply = self.channel.receive()
            if reply is not None:
                return reply["line"] + "\n" if "line" in reply else ""
            self.channel.close()
            self.channel = self.reconnect() if self.reconnect else None
            if self.channel is None:
                return ""
            out = _notice("the previous client left; the session goes on here\n")

    def isatty(self):
        return False

    def fileno(self):
        import io
        raise io.UnsupportedOperation("a session held elsewhere has no file descriptor")


@contextmanager
def _streams_to(channel, reconnect=None):
    """The process's standard streams go to ``channel`` for the session:
    the debugger's, and what the program prints from the prompt."""
    streams = _SessionStreams(channel, reconnect)
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = sys.stdout = sys.stderr = streams
    try:
        yield streams
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        streams.flush()


def _take_sources(session):
    """Before a reload in a session held elsewhere: the client's copies of
    the project's files, where this process runs other copies (a cluster's
    worker: Ray's working_dir, an image, another machine), so that the
    edit made on the client's side is what reloads.  They replace, in
    memory only, the text this process reads for those files (same names:
    tracebacks, ``list`` and breakpoints read the new lines), and each is
    said once.  The files asked for are those with wrapped code here and
    the failed function's; the client sends only files of its project."""
    paths = set(_registry.files) | {_session_file(session)}
    here = os.getcwd()
    asked = [[p, os.path.relpath(p, here) if p.startswith(os.path.join(here, "")) else None]
             for p in sorted(paths) if not p.startswith("<")]
    channel = session.streams.channel
    try:
        channel.send(sources=asked)
        reply = channel.receive()
    except OSError:
        return
    sent = reply.get("sources") if isinstance(reply, dict) else None
    for path, (text, origin) in (sent or {}).items():
        if path not in dict(asked) or not isinstance(text, str):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                own = f.read()
        except (OSError, UnicodeDecodeError):
            own = None
        stamp = _Stamp.of_text(_Origin.SENT, text)
        if own == text:  # the same file, or an identical copy
            if _SENT.pop(path, None) is not None:
                linecache.checkcache(path)
            continue
        if _SENT.get(path) == stamp:
            continue
        _SENT[path] = stamp
        linecache.cache[path] = (len(text), None, text.splitlines(True), path)
        _output.notice(f"{_short(path)} is loaded from the client's copy "
                       f"({origin}), which differs from this process's")
        _registry.strangers.clear()  # code that could not be adopted may be now
    if session.definition is None:  # sent by value, from a file this process lacked
        session.definition = _registry.adopt(session.frame.f_code, session.frame.f_globals)


def _client_sources(asked):
    """The client's side of :func:`_take_sources`: for each ``[path, path
    relative to the worker's folder]``, the text of the file of this
    project that it stands for, and where it was read."""
    roots = [os.path.realpath(r) for r in _elsewhere.roots or [os.getcwd()]]
    found = {}
    for item in asked if isinstance(asked, list) else ():
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            continue
        path, relative = item
        candidates = [path] + [os.path.join(r, relative) for r in roots
                               if isinstance(relative, str)]
        for candidate in candidates:
            real = os.path.realpath(candidate)
            if real.endswith(".py") and os.path.isfile(real) and any(
                    real.startswith(os.path.join(r, "")) for r in roots):
                try:
                    with open(real, encoding="utf-8") as f:
                        found[path] = [f.read(), _short(real)]
                except (OSError, UnicodeDecodeError):
                    continue
                break
    return found


class _HeldByTerminal:
    """The place of a child's sessions: the terminal of the holder at ``path``."""

    def __init__(self, pid, path):
        self.pid, self.path = pid, path

    @contextmanager
    def open(self, session):
        try:  # the answer comes when it is our turn
            channel, reply = _dial(self.path, session=_about(session),
                                   token=os.environ.get(_TOKEN_ENV, ""))
        except OSError as exc:
            raise _NoPlace(f"the process holding the terminal (pid {self.pid}) cannot be "
                           f"reached ({exc})") from None
        if not reply or not reply.get("go"):
            channel.close()
            raise _NoPlace(f"the process holding the terminal (pid {self.pid}) did not "
                           f"take the session")
        try:
            with _streams_to(channel) as streams:
                yield streams
            with contextlib.suppress(OSError):
                channel.send(end=session.outcome.value if session.outcome else "quit")
                # what the program prints next comes after what the session
                # printed, which the holder shows: wait until it has
                channel.sock.settimeout(5)
                channel.receive()
        finally:
            channel.close()


class _WaitingForAttach:
    """The place of a detached program's sessions: a socket of its own,
    where ``python -m hot_restart attach`` finds it, for ``limit`` seconds
    (None: without a limit)."""

    def __init__(self, limit):
        self.limit = limit

    @contextmanager
    def open(self, session):
        import json
        import time
        about = _about(session)
        pid = os.getpid()
        path = _socket_path(f"session-{pid}.sock")
        listing = path[:-len(".sock")] + ".json"
        listener = _listen(path)
        with open(os.open(listing + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                  "w", encoding="utf-8") as f:
            json.dump(about, f)
        os.replace(listing + ".new", listing)
        deadline = None if self.limit is None else time.monotonic() + self.limit
        waits = "" if self.limit is None else f" for {self.limit:g} s"
        _output.notice(f"{about['exception']} in {about['function']}() (process "
                       f"{pid}) waits{waits} for a debugger: run  python -m hot_restart attach "
                       f"{pid}  as the same user")

        def next_client(greeting=True):
            while True:
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    return None
                listener.settimeout(timeout)
                try:
                    sock, _ = listener.accept()
                except OSError:  # the time is up
                    return None
                channel, message = _greeted(sock, "a waiting debugger session")
                if channel is None:
                    continue
                if message.get("attach"):
                    channel.send(about=about)
                    return channel
                channel.send(about=about)  # a listing only
                channel.close()

        try:
            channel = next_client()
            if channel is None:
                raise _NoPlace(f"no debugger attached within {self.limit:g} s")
            _output.notice(f"a debugger attached to process {pid}")
            with _streams_to(channel, next_client) as streams:
                yield streams
            with contextlib.suppress(OSError):
                streams.channel and streams.channel.send(
                    end=session.outcome.value if session.outcome else "quit")
            if streams.channel:
                streams.channel.close()
        finally:
            listener.close()
            for name in (path, listing):
                with contextlib.suppress(OSError):
                    os.unlink(name)


class _Withheld:
    """What the holder's other threads write while a child's session is
    shown.  ``release`` writes it, in order, and from then on their writes go
    straight through: a lock makes the switch, so nothing written at the
    moment a session ends is lost or put out of order.  It also runs at exit,
    when a parent that goes on at once (its worker returned) may end before
    the thread that showed the session has written what waited."""

    def __init__(self, thread):
        self.thread = thread  # the relay's own, which writes through
        self.lock = threading.Lock()
        self.items = []  # (stream, text)
        self.released = False

    def write(self, stream, text):
        with self.lock:
            if self.released:
                return stream.write(text)
            self.items.append((stream, text))
            return len(text)

    def release(self):
        with self.lock:
            if self.released:
                return
            self.released = True
            for stream, text in self.items:
                stream.write(text)
            for stream in {id(s): s for s, _ in self.items}.values():
                stream.flush()
            self.items = []


class _HeldOutput:
    """Stands for one of the holder's output streams while a child's session
    is shown: the relay's own thread writes through; the rest waits in
    ``withheld`` until the session ends."""

    def __init__(self, real, withheld):
        self._real, self._withheld = real, withheld

    def write(self, text):
        if threading.get_ident() == self._withheld.thread:
            return self._real.write(text)
        return self._withheld.write(self._real, text)

    def flush(self):
        if threading.get_ident() == self._withheld.thread or self._withheld.released:
            self._real.flush()

    def __getattr__(self, name):
        return getattr(self._real, name)


class _Holder:
    """The process whose terminal holds its descendants' sessions: one
    thread accepts them and sees they are this user's and speak the
    protocol, another shows them in the terminal one at a time, in the
    order they came, while the others are listed as waiting."""

    def __init__(self, listener, path, token=None, tls=None, read=None):
        self.listener, self.path, self.token, self.tls = listener, path, token, tls
        self.read = read or _read_in_shared_terminal  # a line for the session shown
        self.waiting = []  # (channel, about), in order of arrival
        self.arrived = threading.Condition()
        self.showing = None  # the _Relay of the session shown
        self.noted_debugger = False  # see _held_debugger_note

    def start(self):
        for target in (self._accept, self._show):
            threading.Thread(target=target, name=f"hot-restart {target.__name__[1:]}",
                             daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._greet, args=(sock,), daemon=True).start()

    def _greet(self, sock):
        if self.tls is not None:  # TCP: TLS first, or nothing
            import ssl
            sock.settimeout(5)
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                with contextlib.suppress(OSError):
                    sock.close()
                return
        self._greet_session(*_greeted(sock, "the terminal", self.token))

    def _greet_session(self, channel, message):
        about = message and message.get("session")
        if not isinstance(about, dict):
            if channel is not None:
                channel.close()
            return
        with self.arrived:
            self.waiting.append((channel, about))
            if self.showing is not None:
                self.showing.note(_notice(f"{_describe_waiting(about)} also stopped; "
                                          f"it waits its turn"))
            self.arrived.notify()

    def _show(self):
        while True:
            with self.arrived:
                while not self.waiting:
                    self.arrived.wait()
                channel, about = self.waiting.pop(0)
                others = [a for _, a in self.waiting]
            try:
                with _elsewhere.terminal, contextlib.ExitStack() as guards:
                    for guard in _debuggers.guards:
                        guards.enter_context(guard())
                    with self._held() as out:
                        header = [_notice(f"{_describe_waiting(about)} stopped; its "
                                          f"session is held here")]
                        header += [_notice(f"waiting its turn: {_describe_waiting(other)}")
                                   for other in others]
                        if not self.noted_debugger:
                            self.noted_debugger = True
                            header += [n for n in (_held_debugger_note(),) if n]
                        relay = _Relay(channel, out, header, self.read)
                        with self.arrived:
                            self.showing = relay
                        channel.send(go=True)
                        relay.run()
            except Exception as exc:  # the holder's program must go on
                _output.notice(f"the session of process {about.get('pid')} "
                               f"ended with an error of hot-restart's: {exc}")
            finally:
                channel.close()
                with self.arrived:
                    self.showing = None

    @contextmanager
    def _held(self):
        import atexit
        withheld = _Withheld(threading.get_ident())
        places = [(sys, "stdout"), (sys, "stderr")]
        for more in _elsewhere.outputs:
            places += more()
        saved = [(obj, attr, getattr(obj, attr)) for obj, attr in places]
        real = sys.stdout
        for obj, attr, stream in saved:
            setattr(obj, attr, _HeldOutput(stream, withheld))
        atexit.register(withheld.release)
        try:
            yield real
        finally:
            withheld.release()
            atexit.unregister(withheld.release)
            for obj, attr, stream in reversed(saved):
                setattr(obj, attr, stream)


class _Relay:
    """Shows one session held elsewhere in this terminal: its output, and a
    line read here (with line editing) whenever it asks for one.  ``header``
    comes first, once the session prompts: a session that ends at once,
    because it loaded a fix made meanwhile, shows only what it printed.
    ``note`` (from any thread) says something between its lines.  ``read``
    reads the line: :func:`input`, or in the holder's terminal
    :func:`_read_in_shared_terminal`."""

    def __init__(self, channel, out, header=(), read=input):
        self.channel, self.out, self.header, self.read = channel, out, list(header), read
        self.lock = threading.Lock()
        self.prompt = None  # while a line is read: its prompt
        self.notes = []

    def note(self, text):
        with self.lock:
            if self.prompt is None:
                self.notes.append(text)
                return
            try:
                import readline
                typed = readline.get_line_buffer()
            except ImportError:
                typed = ""
            # above the prompt, which is drawn again
            self._write(f"\r\x1b[K{text}\n{self.prompt}{typed}")

    def _write(self, text):
        self.out.write(text)
        self.out.flush()

    def say(self, text):
        self._write(text + "\n")

    def run(self):
        """Returns the outcome the session ended with, or None if it was lost."""
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
        early = []
        while True:
            message = self.channel.receive()
            if message is None:
                self.say("".join(early) + _notice("the connection to the session was lost"))
                return None
            if "out" in message:
                if early is None:
                    self._write(message["out"])
                else:
                    early.append(message["out"])
            elif "input" in message:
                with self.lock:
                    if early is not None:
                        for line in self.header:
                            self.say(line)
                        self._write("".join(early))
                        early = None
                    for note in self.notes:
                        self.say(note)
                    self.notes = []
                    self.prompt = message["input"]
                try:
                    line = self.read(self.prompt)
                except EOFError:
                    self.channel.send(eof=True)
                else:
                    self.channel.send(line=line)
                finally:
                    with self.lock:
                        self.prompt = None
            elif "sources" in message:
                self.channel.send(sources=_client_sources(message["sources"]))
            elif "end" in message:
                self._write("".join(early or ()))
                with contextlib.suppress(OSError):  # all it said is on the screen
                    self.channel.send(ended=True)
                return message["end"]


def _held_debugger_note():
    """Said once, where a session held elsewhere is shown and another
    debugger than pdb was asked for (or would be chosen): what it runs."""
    adapter, _ = _choose_debugger(DEBUGGER)
    if adapter.name == "pdb":
        return None
    return _notice(f"the sessions of other processes run pdb, not {adapter.name}: "
                   f"{adapter.name} needs a terminal of its own")


def _read_in_shared_terminal(prompt):
    """``input(prompt)`` in a terminal that other processes of the program
    share, where Ctrl-C clears the line typed, as at pdb's own prompt,
    instead of interrupting: the terminal would send the interrupt to every
    process of the program, the parent and the workers that run on among
    them.  The terminal's signal keys are off while the line is read
    (readline turns them on as it starts reading: off again just after)."""
    try:
        import termios
    except ImportError:
        return input(prompt)
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError):  # not a terminal
        return input(prompt)

    def keys_off():
        now = termios.tcgetattr(fd)
        now[3] &= ~termios.ISIG
        termios.tcsetattr(fd, termios.TCSANOW, now)

    try:
        import readline
    except ImportError:
        readline = None
    if readline is not None and "libedit" in (readline.__doc__ or ""):
        readline = None  # libedit (macOS) may lack the pre-input hook: read plainly
    try:
        if readline is not None:
            readline.parse_and_bind(r'"\C-c": kill-whole-line')  # reached only with keys off
            readline.set_pre_input_hook(keys_off)
            return input(prompt)
        keys_off()
        # no line editing: the line comes with the ^C typed, and what follows
        # the last one is what is meant
        return input(prompt).rpartition("\x03")[2]
    finally:
        if readline is not None:
            readline.set_pre_input_hook(None)
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def _waiting_sessions():
    """The sessions waiting for a debugger, oldest first, as ``(about,
    socket path)``; those of processes that are gone are cleared away."""
    import json
    folder = _private_dir()
    found = []
    for name in sorted(os.listdir(folder)):
        if not (name.startswith("session-") and name.endswith(".json")):
            continue
        listing = os.path.join(folder, name)
        path = listing[:-len(".json")] + ".sock"
        try:
            with open(listing, encoding="utf-8") as f:
                about = json.load(f)
            os.kill(about["pid"], 0)
        except ProcessLookupError:
            for stale in (listing, path):
                with contextlib.suppress(OSError):
                    os.unlink(stale)
            continue
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append((about, path))
    return sorted(found, key=lambda item: item[0].get("since", 0))


def _waited(about):
    import time
    seconds = max(0, int(time.time() - about.get("since", time.time())))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def _attach(argv):
    """``python -m hot_restart attach [PID]``: connect this terminal to a
    session waiting for a debugger (``--list``: only list them)."""
    if argv and argv[0] in ("-h", "--help"):
        _print_and_exit(_ATTACH_USAGE)
    listing = "--list" in argv
    wanted = [a for a in argv if a != "--list"]
    try:
        waiting = _waiting_sessions()
    except ReloadException as exc:
        _output.notice(f"{exc}")
        raise SystemExit(1) from None
    if wanted and not any(str(about["pid"]) == wanted[0] for about, _ in waiting):
        if not wanted[0].isdigit():
            _usage_error(f"attach takes a process id, not {wanted[0]!r}")
        return _attach_running(int(wanted[0]))
    if not waiting:
        _output.notice(f"no session is waiting for a debugger (looked in "
                       f"{_private_dir()}); a program waits for one when it crashes with no "
                       f"terminal and {_ATTACH_ENV}=1 (or python -m hot_restart --attach)")
        raise SystemExit(1)
    lines = [f"  {i}. {_describe_waiting(about)}: {about.get('message', '')} (waiting "
             f"{_waited(about)})" for i, (about, _) in enumerate(waiting, 1)]
    if listing:
        _output.answer(_notice("sessions waiting for a debugger:\n" + "\n".join(lines)))
        return
    if wanted:
        chosen = [w for w in waiting if str(w[0]["pid"]) == wanted[0]]
        if not chosen:
            _output.notice(f"no session of process {wanted[0]} is waiting; "
                           f"these are:\n" + "\n".join(lines))
            raise SystemExit(1)
        about, path = chosen[0]
    elif len(waiting) == 1:
        about, path = waiting[0]
    elif sys.stdin.isatty():
        _output.notice("sessions waiting for a debugger:\n" + "\n".join(lines))
        answer = input(f"which one (1-{len(waiting)})? ").strip()
        if not answer.isdigit() or not 1 <= int(answer) <= len(waiting):
            _output.notice("nothing chosen")
            raise SystemExit(1)
        about, path = waiting[int(answer) - 1]
    else:
        _output.notice("several sessions are waiting; name one by its process "
                       "id (python -m hot_restart attach PID):\n" + "\n".join(lines))
        raise SystemExit(1)
    problem = "it did not answer"
    try:
        channel, reply = _dial(path, attach=True)
    except OSError as exc:
        reply, problem = None, exc
    if not reply or "about" not in reply:
        _output.notice(f"cannot attach to process {about['pid']} ({problem})")
        raise SystemExit(1)
    pid = about["pid"]
    _output.notice(f"attached to {_describe_waiting(reply['about'])}; Ctrl-C detaches "
                   f"(the session goes on waiting)")
    note = _held_debugger_note()
    if note:
        _output.say(note)
    _elsewhere.roots = _project_roots(os.getcwd())  # the files a worker may ask for
    try:
        outcome = _Relay(channel, sys.stdout).run()
    except KeyboardInterrupt:
        channel.close()
        _output.say("\n" + _notice(f"detached; process {pid} still waits (python -m "
                                    f"hot_restart attach {pid})"))
        raise SystemExit(1) from None
    channel.close()
    if outcome is None:
        raise SystemExit(1)
    _output.notice(f"the session of process {pid} ended ({outcome})")


_ATTACH_USAGE = """usage: python -m hot_restart attach [--list] [PID]

Connect this terminal to a program that crashed with no terminal and waits
for a debugger (it runs with HOT_RESTART_ATTACH=1, or python -m hot_restart
--attach).  With no PID: the one waiting, or a choice among them.  --list
lists them.  Only the user who runs the program can attach; Ctrl-C detaches
and leaves the session waiting.

With the PID of a program that runs without hot-restart (started with plain
python 3.14 or later, the same version as this command's), hot-restart
becomes active inside it: the project's modules it imported are wrapped,
later imports are instrumented, and its next crash stops in this terminal.
Ctrl-C while it waits detaches and leaves the program running as before."""


# Attaching to a program that runs without hot-restart (3.14+, PEP 768).
# The client becomes the program's holder: it listens on a socket of its own
# and has ``sys.remote_exec`` run a short script in the program, which loads
# this very file there (unless the program imported hot-restart already) and
# calls :func:`_attached`.  That wraps the project's modules, names the
# client as the holder of the program's sessions, and keeps a connection
# open to the client: when it closes (Ctrl-C, or the client is gone) the
# program goes back to running as before, with no stops.


class _AttachClient(_Holder):
    """The terminal of ``python -m hot_restart attach PID``: the holder of
    one program's sessions, told by it first that it is attached."""

    def __init__(self, listener, path, pid):
        super().__init__(listener, path)
        self.pid = pid
        self.hello = None  # the attached program's first message
        self.link = None   # the connection that keeps it attached
        self.changed = threading.Condition()

    def _greet(self, sock):
        channel, message = _greeted(sock, "the terminal attached to a program")
        if channel is not None and isinstance(message.get("attached"), dict):
            with self.changed:
                self.hello, self.link = message["attached"], channel
                self.changed.notify_all()
            channel.send(ok=True)
            channel.receive()  # returns when the program ends or lets go
            channel.close()
            with self.changed:
                self.link = None
                self.changed.notify_all()
            return
        self._greet_session(channel, message)

    def wait(self, timeout=None):
        """Until the program says it is attached (True), or ``timeout`` s."""
        return self._until(lambda: self.hello is not None, timeout)

    def wait_for_the_end(self):
        self._until(lambda: self.link is None)

    def _until(self, done, timeout=None):
        import time
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.changed:  # in short waits: a long one may not see Ctrl-C
            while not done():
                left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True


def _attach_refusal(pid, exc):
    """One line for why ``sys.remote_exec`` could not reach process ``pid``."""
    import re
    text = str(exc)
    mine = "%d.%d" % sys.version_info[:2]
    version = re.search(r"to a Python (\d+\.\d+) process", text) or _python_of(pid)
    if version and tuple(map(int, version.group(1).split("."))) < (3, 14):
        return (f"process {pid} runs Python {version.group(1)}, which cannot be attached "
                f"to (it needs 3.14 or later); start it with python -m hot_restart instead")
    if version:
        return (f"process {pid} runs Python {version.group(1)} and this command Python "
                f"{mine}; run it with that version: python{version.group(1)} -m hot_restart "
                f"attach {pid}")
    if "not enabled" in text:
        return (f"process {pid} runs with remote debugging turned off (-X "
                f"disable_remote_debug, PYTHON_DISABLE_REMOTE_DEBUG, or a build without "
                f"it); start it with python -m hot_restart instead")
    if isinstance(exc, PermissionError) or "ermission" in text or "ptrace" in text:
        return (f"the system does not let this user attach to process {pid} ({text}); "
                f"run this command as root, or allow it with: echo 0 | sudo tee "
                f"/proc/sys/kernel/yama/ptrace_scope")
    return (f"process {pid} does not look like a Python program this command can "
            f"attach to ({text})")


def _python_of(pid):
    """A match whose group 1 is the Python version that process ``pid`` runs,
    as its executable or its libpython is named (Linux); else None."""
    import re
    names = []
    with contextlib.suppress(OSError):
        names.append(os.path.basename(os.path.realpath(f"/proc/{pid}/exe")))
    with contextlib.suppress(OSError), open(f"/proc/{pid}/maps") as f:
        names += [line.rpartition("/")[2] for line in f if "libpython" in line]
    for name in names:
        found = re.match(r"(?:lib)?python(\d+\.\d+)", name)
        if found:
            return found
    return None


def _attach_running(pid):
    """``python -m hot_restart attach PID`` for a program that runs without
    hot-restart: make it active there, and hold its sessions here."""
    if not hasattr(sys, "remote_exec"):
        _output.notice(f"process {pid} has no session waiting, and attaching to a "
                       f"program that runs without hot-restart needs Python 3.14 or later (this "
                       f"is {sys.version.split()[0]}); run this command with python3.14 or "
                       f"later, or start the program with python -m hot_restart")
        raise SystemExit(1)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        _output.notice(f"there is no process {pid}")
        raise SystemExit(1) from None
    except PermissionError:
        _output.notice(f"process {pid} belongs to another user; run this command "
                       f"as that user")
        raise SystemExit(1) from None
    path = _socket_path(f"attach-{os.getpid()}.sock")
    client = _AttachClient(_listen(path), path, pid)
    script = path[:-len(".sock")] + ".py"
    source = (f"import importlib.util, sys\nhot_restart = sys.modules.get('hot_restart')\n"
              f"if hot_restart is None:\n"
              f"    spec = importlib.util.spec_from_file_location('hot_restart', "
              f"{os.path.abspath(__file__)!r})\n"
              f"    hot_restart = importlib.util.module_from_spec(spec)\n"
              f"    sys.modules['hot_restart'] = hot_restart\n"
              f"    spec.loader.exec_module(hot_restart)\n"
              f"hot_restart._attached({os.getpid()}, {path!r})\n")
    with open(os.open(script, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        # one expression: the script runs in the program's __main__, and binds nothing there
        f.write(f"__import__('builtins').exec({source!r}, {{'__name__': 'hot-restart'}})\n")
    try:
        client.start()
        try:
            sys.remote_exec(pid, script)
        except (OSError, RuntimeError) as exc:
            _output.notice(f"{_attach_refusal(pid, exc)}")
            raise SystemExit(1) from None
        if not client.wait(2):
            _output.notice(f"asked process {pid} to let hot-restart in; it will "
                           f"when it next runs Python code (Ctrl-C gives up)")
            client.wait()
        hello = client.hello
        _output.notice(f"attached to process {pid} ({hello['name']}): "
                       f"{hello['functions']} functions wrapped in {hello['modules']} "
                       f"modules; its next crash stops here.  Ctrl-C detaches.")
        client.wait_for_the_end()
        _output.notice(f"process {pid} ended")
    except KeyboardInterrupt:
        if client.link is not None:
            import socket  # wakes the thread that reads the link, which closes it
            with contextlib.suppress(OSError):
                client.link.sock.shutdown(socket.SHUT_RDWR)
            _output.say("\n" + _notice(f"detached; process {pid} runs on as before"))
        else:
            _output.say("\n" + _notice(f"gave up; process {pid} runs on as before"))
        raise SystemExit(1) from None
    finally:
        client.listener.close()
        for name in (path, script):
            with contextlib.suppress(OSError):
                os.unlink(name)


def _attached(client, path):
    """In a program that a client attached to (see :func:`_attach_running`):
    become active, tell the client, and go back as before when it lets go."""
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    folders = [os.path.dirname(os.path.realpath(script))] if script else []
    roots = _project_roots(*folders, os.getcwd())
    finder = _ProjectFinder(roots)
    started = any(d.functions for d in _registry.definitions.values())  # in use already
    switched_off, _stops.switched_off = _stops.switched_off, False
    previous = os.environ.get(_TERMINAL_ENV)
    # the client holds the sessions from now on (and this process does not
    # start holding its own children's when it wraps)
    os.environ[_TERMINAL_ENV] = f"{client} {_host()} {path}"
    _elsewhere.forget()
    _elsewhere.roots = roots
    modules = 0
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if (where and where.endswith(".py") and name != __name__
                and finder.wanted(name, where)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", HotRestartWarning)
                wrap_module(module)
            modules += 1
    sys.meta_path.insert(0, finder)
    functions = sum(1 for d in _registry.definitions.values() if d.functions)
    program = os.path.basename(script) if script else "python"
    try:
        link, _ = _dial(path, attached={"pid": os.getpid(), "name": program,
                                        "functions": functions, "modules": modules})
    except OSError:
        link = None

    def let_go():  # the client detached, or is gone: as before it came
        if link is not None:
            link.receive()
            link.close()
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)
        if previous is None:
            os.environ.pop(_TERMINAL_ENV, None)
        else:
            os.environ[_TERMINAL_ENV] = previous
        _elsewhere.forget()
        # a program that ran without hot-restart stops nowhere any more
        _stops.switched_off = switched_off or not started and previous is None

    threading.Thread(target=let_go, name="hot-restart attached", daemon=True).start()


class _Elsewhere:
    """Where this process's sessions are held when not in its own terminal,
    read from the environment as it is now; and, in the holder, the holder
    and the lock on its terminal (its own sessions and its children's take
    turns)."""

    def __init__(self):
        self.terminal = threading.RLock()
        self.holder = None
        self.started = False
        #: the project's folders, whose files a worker's session may ask for
        self.roots = []
        #: callables giving more ``(object, attribute)`` output streams to
        #: hold while a child's session is shown (the pytest plugin's
        #: terminal writer)
        self.outputs = []
        self._known = None

    def take_sources(self, session):
        """Before a reload in a session held here: see :func:`_take_sources`."""
        _take_sources(session)

    @staticmethod
    def attach(argv):
        return _attach(argv)

    @staticmethod
    def ask_for_attach(wait, timeout):
        """The command line's ``--attach`` and ``--attach-timeout``, for this
        process and its children."""
        if wait:
            os.environ[_ATTACH_ENV] = "1"
        if timeout:
            os.environ[_ATTACH_TIMEOUT_ENV] = timeout

    def place(self):
        """The place of a session of this process: None for its own terminal
        (or none at all), else a :class:`_HeldByTerminal` or a
        :class:`_WaitingForAttach`.  Asked at every stop decision: cheap."""
        known = self._known
        if known is None:  # read once per process (a fork, or forget(), reads again)
            environ = os.environ
            known = self._known = [self._decide(environ.get(_TERMINAL_ENV), environ.get(
                _ATTACH_ENV), environ.get(_ATTACH_TIMEOUT_ENV), os.getpid())]
        return known[0]

    def forget(self):
        """The environment changed (the command line's options): read it again."""
        self._known = None

    def _decide(self, terminal, attach, timeout, pid):
        if terminal:
            holder, host, path = (terminal.split(" ", 2) + ["", ""])[:3]
            if holder.isdigit() and path and (int(holder) != pid or host != _host()):
                return _HeldByTerminal(int(holder), path)
        if (attach and attach.lower() not in ("0", "off", "no", "false")
                and hasattr(os, "getuid") and not _has_terminal()):
            try:
                limit = float(timeout) if timeout else None
            except ValueError:
                limit = None
            return _WaitingForAttach(limit if limit and limit > 0 else None)
        return None

    def start_holding(self, read=None):
        """In a process that runs in a terminal with hot-restart active, and
        whose sessions are held here: listen for its descendants' sessions
        and tell them where, through the environment.  Once per process.
        ``read``: how a line is read for them where there is no terminal
        (a Jupyter kernel's input requests)."""
        if self.started:  # (a fork starts again: see _forked_child)
            return
        self.started, self._pid = True, os.getpid()
        try:  # a real terminal (not the pytest plugin's or Jupyter's)
            terminal = sys.__stdin__ is not None and sys.__stdin__.isatty()
        except (ValueError, AttributeError):
            terminal = False
        terminal = terminal or read is not None
        if self.place() is not None or not terminal or not hasattr(os, "getuid"):
            return
        listen, token, tls = os.environ.get(_LISTEN_ENV, ""), None, None
        try:
            if listen.startswith("tcp"):  # a worker on another machine can reach it
                import secrets
                tls, fingerprint = _tls_server()
                listener, path = _listen_tcp(listen)
                token = secrets.token_hex(16)
            else:
                path = _socket_path(f"terminal-{os.getpid()}.sock")
                listener = _listen(path)
        except (OSError, ValueError, ReloadException) as exc:
            _output.notice(f"child processes cannot hold their sessions in this "
                           f"terminal: {exc}")
            return
        self.holder = _Holder(listener, path, token, tls, read or _read_in_shared_terminal)
        self.holder.start()
        os.environ[_TERMINAL_ENV] = f"{os.getpid()} {_host()} {path}"
        if token is not None:
            os.environ[_TOKEN_ENV] = token
            os.environ[_FINGERPRINT_ENV] = fingerprint
        import atexit
        atexit.register(self._stop_holding, path)

    def _stop_holding(self, path):
        if self.holder is not None and os.getpid() == self._pid:
            with contextlib.suppress(OSError):
                self.holder.listener.close()
                if not path.startswith("tcp:"):
                    os.unlink(path)


_settings.elsewhere = _elsewhere = _Elsewhere()


def _host():
    return os.uname().nodename if hasattr(os, "uname") else ""


def _forked_child():
    """In a child made with fork: its sessions go to the holder, not here;
    and if the fork came while a session was shown, its output is its own."""
    _elsewhere.started = False
    _elsewhere.holder = None
    _elsewhere.forget()
    _elsewhere.terminal = threading.RLock()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, _HeldOutput):
            setattr(sys, name, stream._real)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked_child)


# The Python programs a run starts.  ``python -m hot_restart`` leaves, in
# the environment its children inherit, a folder first on PYTHONPATH that
# holds a ``sitecustomize`` of ours (in this user's private folder), and the
# run's settings.  Every Python process started from the run (directly,
# through a shell, or by ``os.exec*``) imports it as it starts; it takes
# its folder off ``sys.path``, runs the ``sitecustomize`` it hides, and
# when the settings are there, hands them to :func:`_start_child`.  A
# project script or module is started again, in the same process, under
# the command line; anything else runs as it is, with the project's
# modules instrumented as it imports them.  Its sessions are held in the
# run's terminal, as any child's.  Outside the run (no settings in the
# environment) the file does nothing, and a run that was killed leaves
# nothing that acts.

_CHILDREN_ENV = "HOT_RESTART_CHILDREN"  # a dict's repr: the run's settings for its children
_STARTED_ENV = "HOT_RESTART_STARTED"    # the pid of a child started again under the command line

_CHILD_STARTER = '''\
"""Written by hot-restart: the Python programs started from a run of
``python -m hot_restart`` run with hot-restart too.  It acts only in that
run's processes, where HOT_RESTART_CHILDREN is set (with PYTHONPATH naming
this folder); anywhere else it does nothing.  It is safe to delete."""
import os
import sys


def _start():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path  # this folder, and any other run's like it
                   if os.path.dirname(os.path.abspath(p or os.curdir)) != here]
    this = sys.modules.pop("sitecustomize")
    hidden = None
    try:
        import sitecustomize  # noqa: F401  the one this file hides, if any
    except ImportError as exc:
        if exc.name != "sitecustomize":
            hidden = exc
    except Exception as exc:
        hidden = exc
    sys.modules.setdefault("sitecustomize", this)  # the import in progress ends with one
    settings = os.environ.get("HOT_RESTART_CHILDREN")
    if settings and os.environ.get("HOT_RESTART", "1") != "0":
        import ast
        folder = ast.literal_eval(settings).get("module", "")
        sys.path.insert(0, folder)
        try:
            import hot_restart
            hot_restart._start_child(settings)
        except Exception as exc:  # (another Python, say): the program runs as it is
            sys.stderr.write(f"hot-restart: this program runs without it "
                             f"({type(exc).__name__}: {exc})\\n")
        finally:
            if folder in sys.path:
                sys.path.remove(folder)
    if hidden is not None:
        raise hidden


_start()
'''

#: What a child started again under the command line runs (with ``-c``):
#: the command line, imported from the folder the run imported it from.
_CHILD_MAIN = ("import sys; sys.path.insert(0, sys.argv[1]); import hot_restart; "
               "del sys.path[0]; hot_restart.main(sys.argv[2:])")


class _Children:
    """The command line's part: its Python children run with hot-restart."""

    def carry(self, roots, options):
        """Set up the environment that every child inherits (unless
        ``--no-children``)."""
        if options["no-children"] or not hasattr(os, "getuid"):
            return
        pid = os.getpid()
        try:
            private = _private_dir()
            _remove_stale_starters(private)
            folder = os.path.join(private, f"children-{pid}")
            os.makedirs(folder, 0o700, exist_ok=True)
            with open(os.path.join(folder, "sitecustomize.py"), "w", encoding="utf-8") as f:
                f.write(_CHILD_STARTER)
        except (OSError, _NoPlace) as exc:
            _output.notice(f"the Python programs this one starts run without hot-restart: "
                           f"{exc}")
            return
        import atexit
        atexit.register(_remove_starter, folder, pid)
        os.environ[_CHILDREN_ENV] = repr({  # (read with ast.literal_eval: no json to import)
            "module": os.path.dirname(os.path.abspath(__file__)),
            "roots": [os.path.realpath(r) for r in roots], "wrap": options["wrap"],
            "no-wrap": options["no-wrap"], "debugger": DEBUGGER,
            "catch-all": options["catch-all"], "no-catch-all": options["no-catch-all"]})
        paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        os.environ["PYTHONPATH"] = os.pathsep.join(  # (an ancestor's starter goes)
            [folder] + [p for p in paths if p and os.path.dirname(p) != private])


_settings.children = _Children()


def _remove_starter(folder, pid):
    """At the end of the run that made it (not in a child forked from it)."""
    if os.getpid() == pid:
        _remove_folder(folder)


def _remove_stale_starters(private):
    """What runs that were killed left: their starters, and the sockets of
    their holders (their processes are gone)."""
    for name in os.listdir(private):
        kind, _, rest = name.partition("-")
        pid = rest[:-len(".sock")] if kind == "terminal" and rest.endswith(".sock") else rest
        if kind not in ("children", "terminal") or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path = os.path.join(private, name)
            if kind == "children":
                _remove_folder(path)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        except OSError:
            pass


def _remove_folder(path):
    """``shutil.rmtree``, without importing shutil at every start."""
    for top, _folders, files in os.walk(path, topdown=False):
        for name in files:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(top, name))
        with contextlib.suppress(OSError):
            os.rmdir(top)


def _start_child(text):
    """In a Python process started from a run of the command line, as it
    starts (from the ``sitecustomize`` the run left): a script or module of
    the project is started again, in this process, under the command line
    with the run's settings; any other program runs as it is, with the
    project's modules instrumented as it imports them."""
    if os.environ.get(_STARTED_ENV) == str(os.getpid()):
        del os.environ[_STARTED_ENV]  # (its own children are new processes)
        return  # started again by the lines below: the command line does the rest
    try:
        settings = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return
    program = _child_program(getattr(sys, "orig_argv", None), sys.argv)
    if program is None:
        return  # multiprocessing's own processes: its preparation data sets them up
    options, target, args = program
    roots = settings.get("roots", [])
    if target and _in_project(target, roots):
        command = []
        for name in ("wrap", "no-wrap", "catch-all", "no-catch-all"):
            for value in settings.get(name, []):
                command += [f"--{name}", value]
        if settings.get("debugger"):
            command += ["--debugger", settings["debugger"]]
        os.environ[_STARTED_ENV] = str(os.getpid())
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.execv(sys.executable, [sys.orig_argv[0], *options, "-c", _CHILD_MAIN,
                                  settings.get("module", ""), *command, *target, *args])
    _set_up_child(roots, settings.get("wrap", []), settings.get("no-wrap", []),
                  settings.get("debugger"), settings.get("catch-all", []),
                  settings.get("no-catch-all", []))


def _child_program(orig_argv, argv):
    """What a Python process was started to run, from its command line:
    ``(interpreter options, target, arguments)``, where ``target`` is
    ``[script]``, ``["-m", module]`` or None (code given with ``-c``, or
    read from stdin); None for multiprocessing's own processes."""
    if not orig_argv or not argv:
        return None
    n = len(argv)
    if argv[0] == "-c":
        if orig_argv[-n].lstrip().startswith("from multiprocessing"):
            return None
        return orig_argv[1:-n - 1], None, argv[1:]
    if argv[0] == "-m" and len(orig_argv) > n and orig_argv[-n - 1] == "-m":
        return orig_argv[1:-n - 1], ["-m", orig_argv[-n]], argv[1:]
    if argv[0] in ("", "-") or orig_argv[-n] != argv[0]:
        return orig_argv[1:], None, argv[1:]
    return orig_argv[1:-n], [argv[0]], argv[1:]


def _in_project(target, roots):
    """Is the script (``[path]``) or module (``["-m", name]``) the project's?
    A module is looked for without importing anything."""
    if target[0] == "-m":
        spec = importlib.machinery.PathFinder.find_spec(target[1].partition(".")[0])
        if spec is None:
            return False
        where = spec.origin if spec.origin not in (None, "namespace") else next(
            iter(spec.submodule_search_locations or ()), None)
        if not where:
            return False
    else:
        where = target[0]
    where = os.path.realpath(where)
    return (any(where.startswith(os.path.join(r, "")) for r in roots)
            and not _installed(where))


###############################################################################
# Ray and Dask: tasks on a cluster's workers
###############################################################################
#
# A task runs in a worker process that the engine starts: its session is
# held like any child's (in the driver's terminal, or waiting for attach).
# What the engines need besides: the worker must run hot-restart (a
# function of ``__main__`` arrives by value with its instrumented code, and
# unpickling it imports hot-restart; the project's modules must be imported
# through the import hook, set up as each worker starts), and the worker's
# files may be copies (see _take_sources).  Nothing here imports Ray or Dask.

_WORKER_ENV = "HOT_RESTART_WORKER"  # JSON: what a cluster's worker wraps


def ray_runtime_env(runtime_env=None):
    """The ``runtime_env`` for ``ray.init()`` (or ``.options()`` of a task or
    actor) that makes Ray's workers hot-restart's: each worker instruments
    the project's modules as it imports them (its folder is the job's
    ``working_dir`` copy, or the driver's folder on this machine), and
    holds its sessions where the driver's are held.  ``runtime_env``'s own
    entries are kept; a ``worker_process_setup_hook`` given as a dotted
    name still runs, after hot-restart's.  ``python -m hot_restart`` passes
    it to ``ray.init()`` by itself."""
    import json
    env = dict(runtime_env or {})
    env_vars = dict(env.get("env_vars") or {})
    worker = _worker_settings()
    for name, value in worker["env"].items():
        env_vars.setdefault(name, value)
    if _DIR_ENV in os.environ:  # (the sockets' folder of this machine's workers)
        env_vars.setdefault(_DIR_ENV, os.environ[_DIR_ENV])
    settings = {"roots": worker["roots"]}
    hook = env.get("worker_process_setup_hook")
    if isinstance(hook, str) and hook != "hot_restart._ray_worker_setup":
        settings["hook"] = hook
    elif hook is not None and not isinstance(hook, str):
        _output.notice("the runtime_env's worker_process_setup_hook is a function, "
                       "which cannot run after hot-restart's; give it as a dotted name")
    folder = env.get("working_dir")
    if isinstance(folder, str) and os.path.isdir(folder):  # what the workers' copies are of
        shipped = os.path.realpath(folder)
        if shipped not in _elsewhere.roots:
            _elsewhere.roots.insert(0, shipped)
    env_vars[_WORKER_ENV] = json.dumps(settings)
    env["env_vars"] = env_vars
    env["worker_process_setup_hook"] = "hot_restart._ray_worker_setup"
    return env


def _ray_worker_setup():
    """Run by Ray in each worker as it starts (``worker_process_setup_hook``)."""
    import json
    settings = json.loads(os.environ.get(_WORKER_ENV) or "{}")
    _set_up_worker(settings.get("roots", []))
    hook = settings.get("hook")
    if hook:
        module, _, name = hook.rpartition(".")
        getattr(importlib.import_module(module), name)()


def dask_setup(worker=None):
    """Dask's preload hook: ``dask worker --preload hot_restart`` (or the
    ``distributed.worker.preload`` setting) makes a worker hot-restart's,
    as :func:`ray_runtime_env` does for Ray.  The workers of a
    ``LocalCluster`` that ``python -m hot_restart`` runs need nothing: they
    are set up as the command line's children."""
    import json
    _set_up_worker(json.loads(os.environ.get(_WORKER_ENV) or "{}").get("roots", []))


def _patch_dask(distributed):
    """Under the command line: each Dask ``Client`` that connects (to a
    ``LocalCluster`` of the program's, or to a cluster elsewhere) installs
    a worker plugin that makes every worker of its cluster, present and to
    come, hot-restart's, as :func:`ray_runtime_env` does for Ray.  (An
    asynchronous client is not set up here: see :func:`dask_setup`.)"""
    init = distributed.Client.__init__

    @functools.wraps(init)
    def client_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if getattr(self, "asynchronous", True) or getattr(self, "status", None) != "running":
            return
        try:
            self.register_plugin(_dask_plugin(_worker_settings()))
        except Exception as exc:  # the program's work goes on without
            _output.notice(f"the Dask workers are not hot-restart's ({type(exc).__name__}: "
                           f"{exc}); start them with  --preload hot_restart")

    distributed.Client.__init__ = client_init


_settings.on_dask = _patch_dask


def _worker_settings():
    """What a worker elsewhere needs, for Ray's runtime_env and Dask's
    plugin: the project's folders here, and where its sessions are held
    (the holder's address, secret and certificate, and whether to wait
    for attach)."""
    held = (_TERMINAL_ENV, _TOKEN_ENV, _FINGERPRINT_ENV, _ATTACH_ENV, _ATTACH_TIMEOUT_ENV)
    return {"roots": [os.path.realpath(r) for r in _elsewhere.roots],
            "env": {name: os.environ[name] for name in held if name in os.environ}}


@functools.lru_cache(maxsize=None)
def _dask_plugin_class():
    from distributed import WorkerPlugin

    class HotRestartWorkerPlugin(WorkerPlugin):
        """Makes a Dask worker hot-restart's (see :func:`_patch_dask`); it
        travels as a call that makes it again where it arrives."""

        name = "hot-restart"

        def __init__(self, settings):
            self.settings = settings

        def setup(self, worker):
            _set_up_dask_worker(self.settings)

        def __reduce__(self):
            return _dask_plugin, (self.settings,)

    return HotRestartWorkerPlugin


def _dask_plugin(settings):
    return _dask_plugin_class()(settings)


def _set_up_dask_worker(settings):
    """In a Dask worker, from the plugin of the client that connected."""
    for name, value in settings.get("env", {}).items():
        os.environ[name] = value
    _elsewhere.forget()
    _set_up_worker(settings.get("roots", []))


def _set_up_worker(roots):
    """In a cluster's worker: the project's modules it imports are
    instrumented from birth.  The project is the worker's folder (a job's
    copy of the driver's) and the driver's folders where they exist here."""
    if getattr(_set_up_worker, "done", False) or not _enabled():
        return
    _set_up_worker.done = True
    folders = [os.getcwd()] + [r for r in roots if os.path.isdir(r)]
    install_import_hook(list(dict.fromkeys(folders)))


def _patch_ray_init(ray):
    """Under the command line: ``ray.init()`` gets :func:`ray_runtime_env`."""
    init = ray.init

    @functools.wraps(init)
    def ray_init(*args, **kwargs):
        kwargs["runtime_env"] = ray_runtime_env(kwargs.get("runtime_env"))
        return init(*args, **kwargs)

    ray.init = ray_init


_settings.on_ray = _patch_ray_init


###############################################################################
# Watch mode: saved edits go live without a crash
###############################################################################
#
# A thread looks at the files with wrapped code (os.stat: their modification
# time and size) when the OS says their folders changed (Linux's inotify,
# through ctypes), or every WATCH_INTERVAL where it cannot; a file that
# changed and then stayed the same for a short while (editors write in
# several steps) is reloaded by the same engine as continue, and the usual
# report is printed.  It waits while a session is open: the session holds
# the registry's lock, and its own continue reloads.

#: Seconds between two looks at the watched files, and how long a changed
#: file must stay as it is before it is read (a half-written file is not).
WATCH_INTERVAL, WATCH_SETTLE = 0.2, 0.05


class _Watcher:
    """The watch thread's state: files whose last save did not compile
    (reported once, until they change again)."""

    def __init__(self):
        self.thread = None
        self.failed = {}  # path -> the stamp of the save that did not compile

    def start(self):
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, name="hot-restart watch",
                                           daemon=True)
            self.thread.start()

    def _run(self):
        notices = _FolderNotices.open()
        while True:
            if notices is not None:
                notices.wait(list(_registry.files))
            else:
                import time
                time.sleep(WATCH_INTERVAL)
            try:
                self.look()
            except Exception as exc:  # the program goes on; the watcher too
                _output.notice(f"the watcher met an error of its own "
                               f"({type(exc).__name__}: {exc}); it goes on watching")

    def changed(self):
        """The watched files saved since they were loaded, and not since a
        save that did not compile."""
        found = []
        for state in list(_registry.files.values()):
            stamp = _stamp(state.path)
            if stamp != state.stamp and stamp is not None and self.failed.get(
                    state.path) != stamp:
                found.append((state.path, stamp))
        return found

    def look(self):
        """One look: apply the files saved since, once they have settled."""
        if not self.changed():
            return False
        reloaded = self.settle_and_reload()
        if reloaded is None:
            return False
        if reloaded.message:
            _output.say(reloaded.message)
        return True

    def settle_and_reload(self):
        """Once the changed files stay as they are for a moment, reload
        them: the :class:`_Reloaded`, or None while a session is open (its
        own continue reloads)."""
        import time
        changed = self.changed()
        while True:
            time.sleep(WATCH_SETTLE)
            again = self.changed()
            if again == changed:
                break
            changed = again
        if not _registry.lock.acquire(blocking=False):
            return None
        try:
            with _applied_together():
                reloaded = _reload(again="save it again")
        finally:
            _registry.lock.release()
        for f in reloaded.found:
            if f.error:
                self.failed[f.state.path] = f.stamp or _stamp(f.state.path)
            else:
                self.failed.pop(f.state.path, None)
        return reloaded


class _FolderNotices:
    """Linux's notices of changes in the watched files' folders (inotify,
    through ctypes): the watcher sleeps until one comes, instead of
    looking at every file ten times a second.  A look every few seconds
    all the same, in case a notice was missed."""

    _EVENTS = 0x2 | 0x8 | 0x80 | 0x100 | 0x200  # modify, close-write, moved-to, create, delete

    @classmethod
    def open(cls):
        if not sys.platform.startswith("linux"):
            return None
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(0o4000 | 0o2000000)  # IN_NONBLOCK | IN_CLOEXEC
        except (OSError, AttributeError):
            return None
        return cls(libc, fd) if fd >= 0 else None

    def __init__(self, libc, fd):
        self.libc, self.fd, self.folders = libc, fd, set()

    def wait(self, paths):
        import select
        for folder in {os.path.dirname(p) for p in paths} - self.folders:
            if self.libc.inotify_add_watch(self.fd, os.fsencode(folder), self._EVENTS) >= 0:
                self.folders.add(folder)
        ready, _, _ = select.select([self.fd], [], [], 2.0)
        if ready:
            with contextlib.suppress(OSError):
                while os.read(self.fd, 65536):
                    pass


@contextmanager
def _applied_together():
    """While a reload puts its new code in place, other threads do not run
    (as far as Python allows: the interpreter switches threads only at its
    switch interval, or when a thread waits), so that an edit of several
    functions takes effect as a whole."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(60)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


_watcher = _Watcher()


class _Loops:
    """The functions named by ``--loop`` (``always``) and ``--xloop``
    (``raises``): ``(module, qualified name)``, the module ``__main__`` for
    a name without one."""

    def __init__(self):
        self.always, self.raises = set(), set()
        self._paths = {}
        self.refused = set()  # the names said to be generators or coroutines

    @staticmethod
    def run(cells, frame, record):
        return _develop_loop(cells, frame, record)

    def add(self, name, kind):
        module, _, qualname = name.rpartition(":")
        getattr(self, kind).add((module or "__main__", qualname))

    def _path(self, module):
        if module == "__main__":  # (the command line puts the script's in place)
            path = getattr(sys.modules.get("__main__"), "__file__", None)
            return os.path.realpath(path) if path else None
        if module not in self._paths:
            try:
                spec = importlib.util.find_spec(module)
            except (ImportError, ValueError):
                spec = None
            path = spec.origin if spec is not None else None
            if path is None:
                return None
            self._paths[module] = os.path.realpath(path)
        return self._paths[module]

    def targets_in(self, path):
        """The qualified names under ``--loop`` in the file ``path``."""
        if not self.always:
            return ()
        real = os.path.realpath(path)
        return {q for m, q in self.always if self._path(m) == real}

    def refuse(self, qualname, what):
        """Say once that ``qualname``, named by --loop or --xloop, is
        ``what`` (a generator, a coroutine): the develop loop runs plain
        functions only; it runs as usual (and stops as usual)."""
        if qualname not in self.refused:
            self.refused.add(qualname)
            _output.notice(f"{qualname}() is {what} function, which the develop loop "
                           f"cannot run on its own; it runs (and stops) as usual")

    def refused_for(self, code, qualname):
        """Is ``code`` that of a generator or coroutine (told once)?"""
        if code.co_flags & (_CO_GENERATOR | _CO_ASYNC_GENERATOR):
            self.refuse(qualname, "a generator")
        elif code.co_flags & _CO_COROUTINE:
            self.refuse(qualname, "a coroutine")
        else:
            return False
        return True

    def wanted(self, definition, kind):
        targets = getattr(self, kind)
        if not targets:
            return False
        real = os.path.realpath(definition.path)
        return any(q == definition.qualname and self._path(m) == real for m, q in targets)


_settings.loops = _loops = _Loops()


def _develop_loop(cells, frame, record):
    """Run the function of ``frame`` with its call's arguments, show how it
    ended, and wait: each save of a watched file reloads and runs it again;
    ``r`` runs it again, ``c`` lets the program go on with the last result
    (or the last exception), ``q`` ends the program.  ``record.loop``: the
    exception of the failure that started an ``--xloop``, or _MISSING."""
    import traceback
    first = record.loop
    name = _code_qualname(frame.f_code)
    _output.notice(f"develop loop on {name}(): each save runs it again with the "
                   f"same arguments; r runs it again, c goes on with the last result, q quits")
    outcome = None if first is _MISSING else ("raised", first)
    while True:
        if outcome is None:
            try:
                outcome = ("returned", _call_again(cells, frame, record))
            except KeyboardInterrupt:
                outcome = ("interrupted", KeyboardInterrupt())
            except BaseException as exc:
                outcome = ("raised", exc)
        kind, value = outcome
        if kind == "returned":
            text = repr(value)
            _output.notice(f"{name}() returned "
                           f"{text if len(text) <= 200 else text[:200] + '...'}")
        elif kind == "raised":
            tb = value.__traceback__
            while tb is not None and _own_frame(tb.tb_frame):  # this loop's own
                tb = tb.tb_next
            _hide_own_frames(tb)
            _output.say("".join(traceback.format_exception(type(value), value, tb)).rstrip())
            _output.notice(f"{name}() raised {type(value).__name__}")
        else:
            _output.notice(f"the run of {name}() was interrupted (Ctrl-C)")
        event, detail = _next_event()
        if event == "save":
            if detail:
                _output.say(detail)
            if "***" not in (detail or ""):
                outcome = None
        elif detail == "r":
            outcome = None
        elif detail == "c":
            if kind == "returned":
                return value
            if kind == "raised":
                _stops.let_go[id(value)] = value  # its callers do not stop for it again
            raise value
        elif detail == "q":
            raise SystemExit(1)
        else:
            _output.notice("save a file to run it again, or type r (run again), "
                           "c (go on) or q (quit)")


def _next_event():
    """Wait for a save of a watched file (``("save", report)``, once it is
    reloaded) or a command typed (``("command", text)``)."""
    import select
    _output.say("loop> ", end="")  # where the loop's results go
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], WATCH_INTERVAL)
        if ready:
            line = sys.stdin.readline()
            return "command", line.strip() if line else "c"
        if _watcher.changed():
            reloaded = _watcher.settle_and_reload()
            if reloaded is not None:
                _output.say("")
                return "save", reloaded.message


def watch():
    """Watch every file that holds wrapped code: when one is saved, its
    changed definitions are reloaded in place in the running program, in a
    thread of hot-restart's, and the usual one-line report is printed.  A
    save that does not compile is reported once and applies nothing; the
    next good save applies.  Crashes still stop as usual; the watcher waits
    while a session is open.  Returns at once; calling it again does
    nothing more."""
    _watcher.start()


_settings.watch = watch


class _Patch:
    """The source text a definition had before :func:`patch` changed it."""

    def __init__(self, path, original):
        self.path, self.original = path, original


_patches = {}  # path -> _Patch: files whose text in force came from patch()


def _definition_region(path, lines, qualname):
    """``(first line, last line, indentation)`` of the definition named
    ``qualname`` in ``lines`` (1-based, decorators included), or None."""
    for name, _ordinal, node, _ancestors in _definitions(_read_tree(path, lines)):
        if name == qualname:
            return _first_line(node), node.end_lineno, node.col_offset
    return None


def _set_text(path, text):
    """Make ``text`` the source of ``path`` for the reload engine, in
    memory only; None: the file on disk again."""
    if text is None:
        _SENT.pop(path, None)
        linecache.cache.pop(path, None)
        linecache.checkcache(path)
        return
    _SENT[path] = _Stamp.of_text(_Origin.PATCHED, text)
    linecache.cache[path] = (len(text), None, text.splitlines(True), path)


def patch(fn, source):
    """Put ``source`` (the text of a new definition of ``fn``, a ``def``
    statement, at any indentation) in place of ``fn``'s definition, through
    the same engine as a reload: every reference to ``fn`` runs it, closures
    and methods included.  The file is not written (see :func:`commit`).
    Returns the report; raises ReloadException (and changes nothing) when
    the new text does not compile."""
    import textwrap
    definition = _definition_of(fn)
    path = definition.path
    linecache.checkcache(path)
    lines = linecache.getlines(path)
    region = _definition_region(path, lines, definition.qualname)
    if region is None:
        raise ReloadException(f"{definition.qualname} is no longer in {_short(path)}")
    first, last, indent = region
    body = textwrap.indent(textwrap.dedent(source).strip("\n") + "\n", " " * indent)
    text = "".join(lines[:first - 1]) + body + "".join(lines[last:])
    record = _patches.get(path) or _Patch(path, "".join(lines))
    _set_text(path, text)
    reloaded = _reload(again="patch it again")
    if reloaded.errors:
        _set_text(path, None if path not in _patches else "".join(lines))
        raise ReloadException("; ".join(reloaded.errors) + "; nothing was changed")
    _patches[path] = record
    return reloaded.message


def revert(fn):
    """Take back what :func:`patch` put in place in ``fn``'s file: the file's
    own text is in force again (reloaded as an edit would be)."""
    path = _definition_of(fn).path
    record = _patches.pop(path, None)
    if record is None:
        raise ReloadException(f"{_short(path)} has no patch to revert")
    _set_text(path, None)
    return _reload(again="patch it again").message


def commit(fn):
    """Write what :func:`patch` put in place into ``fn``'s file, at the
    definition's exact place; the file is then what runs."""
    path = _definition_of(fn).path
    if path not in _patches:
        raise ReloadException(f"{_short(path)} has no patch to commit")
    text = "".join(linecache.getlines(path))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    del _patches[path]
    _set_text(path, None)
    state = _registry.files.get(path)
    if state is not None:
        state.stamp = _stamp(path)  # the very text that runs
    return path


def _definition_of(fn):
    for inner in _innermost(fn) or [fn]:
        code = getattr(inner, "__code__", None)
        definition = _registry.owner(code) if code is not None else None
        if definition is not None:
            return definition
    raise ReloadException(f"{getattr(fn, '__qualname__', fn)!r} is not wrapped; wrap it "
                          f"(hot_restart.wrap) before patching it")


###############################################################################
# IPython: %load_ext hot_restart
###############################################################################

def load_ipython_extension(ipython):
    """``%load_ext hot_restart`` at an IPython prompt: the project's modules
    (of the current folder's project, as the command line finds it)
    imported from then on are instrumented from birth, and a crash in one
    opens the debugger in the terminal; ``c`` goes on with the cell.  The
    magic ``%hot_restart off`` (and ``on``) switches the stops."""
    if not any(isinstance(f, _ProjectFinder) for f in sys.meta_path):
        install_import_hook(_project_roots(os.getcwd()))
    ipython.register_magic_function(_hot_restart_magic, "line", "hot_restart")
    _stops.switched_off = False
    if type(ipython).__name__ == "ZMQInteractiveShell":
        # a Jupyter kernel has no terminal: the debugger reads its commands
        # through the kernel's input requests, as %debug does; and the
        # processes the notebook starts (a multiprocessing pool) hold their
        # sessions in the kernel, which shows them the same way
        _stops.terminal_override = True
        roots = _project_roots(os.getcwd())
        _elsewhere.roots = roots
        options = _parse_command_line(["notebook"])[0]
        _after_import("multiprocessing.spawn", _ChildSetup(roots, options).carry)
        _settings.children.carry(roots, options)
        _elsewhere.start_holding(read=input)
    _output.notice("the project's modules imported from now on are wrapped; "
                   "a crash in one opens the debugger here (%hot_restart off to switch it off)")


def _hot_restart_magic(line):
    """%hot_restart on|off: whether a crash in wrapped code opens the debugger."""
    word = line.strip().lower()
    if word not in ("on", "off"):
        _output.notice(f"stops are {'off' if _stops.switched_off else 'on'}; "
                       f"%hot_restart on or %hot_restart off switches them")
        return
    _stops.switched_off = word == "off"
    opens = "does not open" if _stops.switched_off else "opens"
    _output.notice(f"a crash in wrapped code {opens} the debugger now")


###############################################################################
# pytest plugin: pytest --hot-restart
###############################################################################

def pytest_addoption(parser):
    """The pytest plugin's one option, registered through the pytest11 entry point."""
    parser.getgroup("hot-restart").addoption(
        "--hot-restart", action="store_true", default=False,
        help="when a test fails, open a debugger in the failing function; fix the code "
             "and type c to run the test again with the same fixtures")


def pytest_load_initial_conftests(early_config, parser, args):
    """With --hot-restart and a terminal: wrap the project and the tests, from
    birth, before the conftest files and what they import are loaded."""
    _start_plugin(early_config, early_config.known_args_namespace)


def pytest_configure(config):
    """The same, where the plugin came too late for the early hook; and
    one debugger for failures, ours: pytest's --pdb is switched off."""
    _start_plugin(config, config.option)
    if config._hot_restart_on and config.getvalue("usepdb"):
        config.option.usepdb = False
        config.pluginmanager.unregister(name="pdbinvoke")
        capture = config.pluginmanager.getplugin("capturemanager")
        with _capture_suspended(capture) if capture is not None else contextlib.nullcontext():
            _output.notice("--hot-restart handles failures, so --pdb is off")


def _start_plugin(config, options):
    if hasattr(config, "_hot_restart_on"):
        return
    config._hot_restart_on = False
    if not getattr(options, "hot_restart", False) or not _enabled():
        return
    capture = config.pluginmanager.getplugin("capturemanager")
    controller = "PYTEST_XDIST_WORKER" not in os.environ and _xdist_workers(options)
    # (standard input is a terminal again only while the capture is suspended)
    with _capture_suspended(capture) if capture is not None else contextlib.nullcontext():
        terminal = sys.__stdin__ is not None and sys.__stdin__.isatty() or _debuggers.remote()
        if controller and terminal:  # the tests run in the workers; their sessions come here
            if capture is not None:
                _debuggers.guards.append(functools.partial(_capture_suspended, capture))
            _elsewhere.outputs.append(functools.partial(_terminal_writer, config))
            _elsewhere.start_holding()
    if controller:
        return
    if not terminal and _elsewhere.place() is None:
        return  # as if the plugin were not there
    config._hot_restart_on = True
    from _pytest.assertion.rewrite import rewrite_asserts

    def prepare(tree, source):
        rewrite_asserts(tree, source.encode(), None, config)

    import pytest  # what the rewriting depends on, for the cache (pytest's own does so too)
    prepare.cache_key = repr(("pytest", pytest.__version__,
                              config.getini("enable_assertion_pass_hook")))

    rewriter = next((f for f in sys.meta_path
                     if type(f).__name__ == "AssertionRewritingHook"), None)
    root = str(config.rootpath)
    finder = _PytestFinder([root], rewriter, prepare)
    sys.meta_path.insert(0, finder)
    with _batched():
        for name, module in list(sys.modules.items()):  # imported before this ran
            path = getattr(module, "__file__", None)
            if path and path.endswith(".py") and finder.wanted(name, path):
                wrap_module(module)
    _stops.terminal_override = True
    if capture is not None:
        _debuggers.guards.append(functools.partial(_capture_suspended, capture))


def _terminal_writer(config):
    """Where pytest's report is written, to hold while a worker's session is shown."""
    reporter = config.pluginmanager.getplugin("terminalreporter")
    writer = getattr(reporter, "_tw", None)
    return [(writer, "_file")] if writer is not None and hasattr(writer, "_file") else []


def _xdist_workers(options):
    """Whether pytest-xdist will run the tests in worker processes."""
    workers = getattr(options, "numprocesses", None)
    return bool(workers) or getattr(options, "dist", "no") not in ("no", None)


def pytest_runtest_makereport(item, call):
    """Before pytest writes the report of a test that failed after a
    restart: the call that was run again is listed once, as in every
    traceback (see :func:`_hide_own_frames`)."""
    excinfo = call.excinfo
    if excinfo is not None and getattr(item.config, "_hot_restart_on", False):
        _hide_own_frames(excinfo.tb)
    yield


# pluggy's mark for a wrapper that runs first, set by hand: importing
# hot_restart imports no pytest
pytest_runtest_makereport.pytest_impl = {
    "hookwrapper": True, "wrapper": False, "tryfirst": True, "trylast": False,
    "optionalhook": False, "specname": None}


def pytest_exception_interact(node, call, report):
    """A failing doctest example: said to be reported as usual (doctest
    itself catches every error of the code it runs, so nothing stops)."""
    config = node.config
    if getattr(config, "_hot_restart_on", False) and type(node).__name__ == "DoctestItem":
        capture = config.pluginmanager.getplugin("capturemanager")
        with _capture_suspended(capture) if capture is not None else contextlib.nullcontext():
            _output.say("\n" + _notice(f"{node.name} is a doctest, whose examples cannot "
                                        f"be restarted; pytest reports its failure as usual"))


@contextlib.contextmanager
def _capture_suspended(capture):
    """pytest's output capture off (stdin too) for a while, if it is on."""
    capturing = any(getattr(sys, name) is not getattr(sys, f"__{name}__")
                    for name in ("stdin", "stdout", "stderr"))
    if capturing:
        capture.suspend(in_=True)
    try:
        yield
    finally:
        if capturing:
            capture.resume()


class _PytestFinder(_ProjectFinder):
    """The project finder, for test modules too: those pytest would rewrite
    get their asserts rewritten, then instrumented."""

    def __init__(self, roots, rewriter, prepare):
        super().__init__(roots)
        self.rewriter, self.prepare = rewriter, prepare

    def find_spec(self, name, path=None, target=None):
        if self.rewriter is not None:
            spec = self.rewriter.find_spec(name, path, target)
            if spec is not None and spec.loader is self.rewriter:
                if self.wanted(name, spec.origin):
                    spec.loader = _InstrumentingLoader(name, spec.origin, self.prepare)
                return spec
        return super().find_spec(name, path, target)


if __name__ == "__main__":  # python -m hot_restart: run the one shared copy of the module
    import hot_restart

    hot_restart.main()
