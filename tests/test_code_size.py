"""The size limits of the package's code: small modules, short functions, no module state.

Modules stay readable in one sitting (none over 300 lines, few over 250), functions fit
on a screen (at most two over 50 lines), and a module holds constants only: state lives
in objects that are built by the composition root and handed down.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "snapd"
MODULES = sorted(PACKAGE.rglob("*.py"))

MODULE_LIMIT = 300
MODULE_SOFT_LIMIT = 250
# Modules over the soft limit today; the list may only shrink (issue 19 aims at 3).
OVER_SOFT_LIMIT_AT_MOST = 3
FUNCTION_LIMIT = 50
FUNCTIONS_OVER_LIMIT_AT_MOST = 2
MUTABLE_CALLS = {"list", "dict", "set", "defaultdict", "OrderedDict", "Counter", "deque"}


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{_name(path)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > FUNCTION_LIMIT
    ]


def _is_mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp):
        return True
    if isinstance(value, ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        function = value.func
        name = function.id if isinstance(function, ast.Name) else None
        if isinstance(function, ast.Attribute):
            name = function.attr
        return name in MUTABLE_CALLS
    return False


def _is_constant(name: str) -> bool:
    """An UPPER_CASE name or a dunder (``__all__``): a constant by the project's convention,
    never written after import."""
    return name.isupper() or (name.startswith("__") and name.endswith("__"))


def mutable_module_state(source: str) -> list[str]:
    """The module-level names ``source`` binds to a mutable container (list, dict, set),
    constants aside, and the names it declares ``global``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Global):
            found.extend(node.names)
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and _is_mutable(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [ast.unparse(target) for target in targets]
            found.extend(name for name in names if not _is_constant(name))
    return found


def test_no_module_is_over_300_lines() -> None:
    over = [f"{_name(path)} ({_lines(path)})" for path in MODULES if _lines(path) > MODULE_LIMIT]
    assert over == []


def test_few_modules_are_over_250_lines() -> None:
    over = [_name(path) for path in MODULES if _lines(path) > MODULE_SOFT_LIMIT]
    assert len(over) <= OVER_SOFT_LIMIT_AT_MOST, over


def test_at_most_two_functions_are_over_50_lines() -> None:
    long = [function for path in MODULES for function in _long_functions(path)]
    assert len(long) <= FUNCTIONS_OVER_LIMIT_AT_MOST, long


def test_the_state_finder_sees_lists_dicts_sets_and_globals_but_not_constants() -> None:
    source = (
        "a = []\nb: dict[str, int] = {}\nc = set()\nd = (1, 2)\nLIMITS = {}\n"
        "def f() -> None:\n    global g\n"
    )
    assert mutable_module_state(source) == ["g", "a", "b", "c"]
    assert mutable_module_state('__all__ = ["f"]\n') == []


def test_no_module_keeps_mutable_state() -> None:
    found = [
        f"{_name(path)}: {name}"
        for path in MODULES
        for name in mutable_module_state(path.read_text(encoding="utf-8"))
    ]
    assert found == []
