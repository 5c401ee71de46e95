"""In-process tables of reload planning: the file as it was, the file as it
is saved, and the events the reload reports.  Events, not English: the
report's wording is tested by the scenarios."""

import importlib
import os
import textwrap

import pytest

import hot_restart as hr

BEFORE = '''
LIMIT = 3


def double(x, factor=2):
    return x * factor


def last():
    return LIMIT


def make_adder(n):
    def add(x):
        return x + n
    return add


class Box:
    size = 1

    def area(self):
        return self.size * self.size
'''

E = hr._Event
ROWS = [
    pytest.param("    return x * factor\n", "    return x * factor + 1\n",
                 [E(hr._CHANGED, "double", None)], id="body"),
    pytest.param("    return x * factor\n", "    return x * factor  # the same\n",
                 [E(hr._SAME, "double", None)], id="comment-only"),
    pytest.param("factor=2", "factor=3", [E(hr._CHANGED, "double", None)], id="default"),
    pytest.param("        return self.size * self.size\n",
                 "        return self.size * self.size\n\n\ndef first():\n    return 0\n",
                 [E(hr._ADDED, "first", None)], id="added"),
    pytest.param("def last():\n    return LIMIT\n", "",
                 [E(hr._REMOVED, "last", None), E(hr._MOVED, "make_adder", -2),
                  E(hr._MOVED, "Box.area", -2)], id="removed-and-moved"),
    pytest.param("\n\ndef double(x, factor=2):\n", "\n@staticmethod\ndef double(x, factor=2):\n",
                 [E(hr._NEEDS_RELOAD, "double", "decorators or bases changed")],
                 id="decorator"),
    pytest.param("    size = 1\n", "    size = 2\n",
                 [E(hr._ASSIGNED, "Box.size", 20)], id="class-attribute"),
    pytest.param("    size = 1\n", "    size = len('ab')\n",
                 [E(hr._NEEDS_RELOAD, "Box", "class body changed (20)")], id="class-body-call"),
    pytest.param("LIMIT = 3\n", "LIMIT = 4\n", [E(hr._ASSIGNED, "LIMIT", 2)],
                 id="module-constant"),
    pytest.param("LIMIT = 3\n", "LIMIT = int('4')\n", [E(hr._NOT_RERUN, None, (2,))],
                 id="module-statement-with-a-call"),
    pytest.param("LIMIT = 3\n", "LIMIT = 3\nimport os\n",
                 [E(hr._IMPORTED, "os", 3)] + [E(hr._MOVED, name, 1) for name in (
                     "double", "last", "make_adder", "Box.area")], id="moved"),
    pytest.param("LIMIT = 3\n", "LIMIT = 3\nimport no_such_module_here\n",
                 [E(hr._NOT_APPLIED, "no_such_module_here",
                    "there is no module named 'no_such_module_here'")]
                 + [E(hr._MOVED, name, 1) for name in (
                     "double", "last", "make_adder", "Box.area")],
                 id="import-of-a-missing-module"),
    pytest.param("        return x + n\n", "        return x + n + 1\n",
                 [E(hr._CHANGED, "make_adder", None)], id="nested-recompiles-the-enclosing"),
    pytest.param("    return x * factor\n", '    """Not written yet."""\n',
                 [E(hr._CHANGED, "double", None)], id="cut-to-a-docstring"),
]


@pytest.fixture
def module(tmp_path, monkeypatch):
    path = tmp_path / "planned.py"
    path.write_text(BEFORE)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    mod = importlib.import_module("planned")
    hr.wrap_module(mod)
    mod.make_adder(1)  # a closure, made after the wrap
    yield path
    import sys
    sys.modules.pop("planned", None)


def save(path, text):
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize("old, new, events", ROWS)
def test_reload_events(module, old, new, events):
    assert old in BEFORE
    save(module, BEFORE.replace(old, new, 1))
    found = hr._reload_files()
    assert [f.error for f in found] == [None]
    got = [e for e in found[0].events if e.kind != hr._SAME or hr._SAME in
           {x.kind for x in events}]
    assert sorted(got) == sorted(events)


def test_assignments_reach_the_live_module_and_class(module):
    save(module, BEFORE.replace("LIMIT = 3\n", "LIMIT = 4\n").replace(
        "    size = 1\n", "    size = LIMIT * 2\n"))
    hr._reload_files()
    import planned
    assert planned.LIMIT == 4 and planned.Box.size == 8 and planned.last() == 4


def test_a_syntax_error_is_an_error_and_applies_nothing(module):
    save(module, BEFORE.replace("return x * factor", "return (x *"))
    found = hr._reload_files()
    assert found[0].error.startswith("SyntaxError in ")
    assert found[0].events == []


def test_the_report_says_the_events():
    found = hr._FileReload(hr._FileState("pkg/mod.py", None, None, None))
    found.events = [E(hr._CHANGED, "f", None), E(hr._SAME, "g", None),
                    E(hr._NOT_RERUN, None, (3, 5)), E(hr._REMOVED, "h", None)]
    assert hr._describe_reloads([found]) == (
        "> reloaded pkg/mod.py: f (changed), h (removed from the file; its old code stays "
        "in use); lines 3, 5 (module level) changed, not re-run")


def test_a_closure_in_an_added_function_is_known_after_a_syntax_error(module):
    """An added function's nested code is registered: a crash in its closure
    has a definition, before and after a failed reload."""
    text = BEFORE + textwrap.dedent('''

        def make_scaler(k):
            def scale(x):
                return x * k
            return scale
        ''')
    save(module, text)
    assert [e.kind for e in hr._reload_files()[0].events] == [hr._ADDED]
    import planned
    scale = planned.make_scaler(2)
    assert hr._registry.owner(scale.__code__) is not None
    save(module, text.replace("return x * k", "return x *"))
    assert hr._reload_files()[0].error
    assert hr._registry.owner(scale.__code__).qualname == "make_scaler.<locals>.scale"
