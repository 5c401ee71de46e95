"""The module's layout, as its map says: Part I, the core, never names what
Part II, the settings, defines; and a section of Part I reaches forward to
a later one only where the map says it does."""

import ast
import re
from pathlib import Path

import hot_restart

SOURCE = Path(hot_restart.__file__).read_text(encoding="utf-8")
BANNER = re.compile(r"^#{79}\n# (.+)\n#{79}$", re.MULTILINE)


def _layout(source):
    """``(part II's first line, [(first line, title)] of the sections)``."""
    part_two, sections = None, []
    for match in BANNER.finditer(source):
        line = source.count("\n", 0, match.start()) + 2  # the title's line
        title = match.group(1)
        if title.startswith("Part II"):
            part_two = line
        elif not title.startswith("Part I"):
            sections.append((line, title))
    return part_two, sections


def _defined(tree, section_of):
    """Each name bound at the top of the module -> the section of its first binding."""
    first = {}
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        for name in names:
            first.setdefault(name, section_of(node.lineno))
    return first


def _references(source):
    """``(names of Part II that Part I uses, {name: (from, to)} of Part I's
    references to a later section of Part I)``."""
    part_two, sections = _layout(source)
    starts = [line for line, _ in sections]

    def section_of(lineno):
        return sum(1 for start in starts if start <= lineno) - 1

    tree = ast.parse(source)
    first = _defined(tree, section_of)
    second_part = sum(1 for start in starts if start < part_two)  # its first section
    into_part_two, forward = set(), {}
    for node in tree.body:
        here = section_of(node.lineno)
        if here >= second_part:
            continue
        for name in ast.walk(node):
            if not isinstance(name, ast.Name) or not isinstance(name.ctx, ast.Load):
                continue
            there = first.get(name.id)
            if there is None or there <= here:
                continue
            if there >= second_part:
                into_part_two.add(name.id)
            else:
                forward[name.id] = (sections[here][1], sections[there][1])
    return into_part_two, forward


def _named_by_the_map(source):
    doc = ast.get_docstring(ast.parse(source))
    paragraph = doc[doc.index("Where a section of Part I reaches forward"):]
    return set(re.findall(r"``(\w+)``", paragraph))


def test_the_core_never_names_the_settings():
    into_part_two, _ = _references(SOURCE)
    assert not into_part_two, (
        f"Part I names what Part II defines: {sorted(into_part_two)}; reach it through "
        f"_settings instead")


def test_the_core_reaches_forward_only_where_the_map_says():
    _, forward = _references(SOURCE)
    named = _named_by_the_map(SOURCE)
    unnamed = {name: where for name, where in forward.items() if name not in named}
    assert not unnamed, f"forward references the map does not name: {unnamed}"
    assert named <= set(forward), (
        f"the map names forward references there no longer are: {sorted(named - set(forward))}")


def test_the_checks_see_what_they_look_for():
    """A name of Part II used in Part I, and a forward reference the map
    does not name, are both found."""
    source = SOURCE.replace(
        "def _let_go_elsewhere(exc):\n",
        "def _let_go_elsewhere(exc):\n    print(_watcher, _Debuggers)\n", 1)
    into_part_two, forward = _references(source)
    assert into_part_two == {"_watcher"}
    assert "_Debuggers" in forward and "_Debuggers" not in _named_by_the_map(source)
    assert _layout(SOURCE)[1][0][1].startswith("Settings") and len(_layout(SOURCE)[1]) == 17


def test_the_map_lists_the_public_names():
    doc = ast.get_docstring(ast.parse(SOURCE))
    item = doc[doc.index("11. Public API"):doc.index("12. ")]
    assert set(re.findall(r"``(\w+)``", item)) - {"__all__"} == set(hot_restart.__all__)
