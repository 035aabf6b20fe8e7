"""The size limits of the package's code: small modules, short functions, no module state.

Modules stay readable in one sitting (none over 300 lines, few over 250), functions fit
on a screen (at most two over 50 lines), and a module holds constants only: state lives
in objects that are built by the composition root and handed down.
"""

from __future__ import annotations

import ast
import re
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


# -- every module-level name is a constant, a type alias, a logger, a TypeVar or __all__ --

_CONSTANT_NAME = re.compile(r"_?[A-Z][A-Z0-9_]*")
_ALIAS_NAME = re.compile(r"_?[A-Z][A-Za-z0-9]*")
# Calls whose result cannot change: immutable containers and values, records (frozen
# dataclasses and named tuples, by the project's convention), compiled patterns.
_IMMUTABLE_CALLS = {
    "frozenset", "tuple", "MappingProxyType", "timedelta", "datetime", "date", "compile",
    "Path", "range", "len", "sum", "Table",
    "create", "add_column",  # a table's DDL, as text
}  # fmt: skip
# Constants bound to a dict or a list today, with why; the list may only shrink.
KNOWN_MUTABLE_CONSTANTS = {
    # JSON Schema documents and their parts: jsonschema and json.dumps want plain dicts.
    "config/hook_environment.py:ENVIRONMENT_SCHEMA", "config/notify.py:_TIMEOUT",
    "config/notify.py:_URL", "config/notify.py:NOTIFY_SCHEMA", "config/vm_schema.py:VM_SETTINGS",
    "config/schema.py:_VM_PROPERTIES", "config/schema.py:POLICY_SCHEMA",
    # Lookup tables of the policy's reader and of other areas, still to be frozen.
    "config/cron.py:MACROS", "config/cron.py:MONTH_NAMES", "config/cron.py:WEEKDAY_NAMES",
    "config/durations.py:_UNITS", "config/validate.py:_TYPE_NAMES", "config/validate.py:FORMATS",
    "config/vms.py:BUILT_IN_DEFAULTS", "config/vms.py:_DURATION_KEYS", "cli/dispatch.py:COMMANDS",
    "ledger/tables.py:TYPE_NAMES", "simulate/record.py:FAULT_REASONS",
    "fakeapi/__init__.py:_HOMES", "fakeapi/dispatch.py:_NULL_SNAPSHOT",
    "fakeapi/faultspec.py:_READERS", "fakeapi/fleet.py:_TEMPLATES", "fakeapi/registry.py:BY_NAME",
    "fakeapi/routes.py:_TABLE",
    # argparse value types made by one factory (functions, named as functions are)
    "fakeapi/grammar.py:_positive_integer", "fakeapi/grammar.py:_non_negative_integer",
    "fakeapi/grammar.py:_non_negative_seconds",
}  # fmt: skip


def _immutable(value: ast.expr) -> bool:
    """Whether ``value`` builds something that cannot change (read statically)."""
    if isinstance(value, ast.Constant | ast.JoinedStr | ast.Name | ast.Attribute | ast.Subscript):
        return True  # a literal, another constant, an enum member, an element of a constant
    if isinstance(value, ast.Tuple):
        return all(_immutable(element) for element in value.elts)
    if isinstance(value, ast.BinOp):
        return _immutable(value.left) and (
            _immutable(value.right) or isinstance(value.right, ast.Set)  # frozenset - {..}
        )
    if isinstance(value, ast.UnaryOp):
        return _immutable(value.operand)
    if isinstance(value, ast.Starred):  # another constant's elements, inside a tuple
        return _immutable(value.value)
    if isinstance(value, ast.Call):
        function = value.func
        name = function.id if isinstance(function, ast.Name) else None
        if isinstance(function, ast.Attribute):
            name = function.attr
        return name in _IMMUTABLE_CALLS or bool(name and _ALIAS_NAME.fullmatch(name))
    return False


def _type_expression(value: ast.expr) -> bool:
    if isinstance(value, ast.Name | ast.Attribute | ast.Subscript):
        return True
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
        return _type_expression(value.left) and _type_expression(value.right)
    return isinstance(value, ast.Constant) and value.value is None


def _called(value: ast.expr, *names: str) -> bool:
    function = value.func if isinstance(value, ast.Call) else None
    name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
    return name in names


def module_state(source: str) -> list[str]:
    """The module-level names ``source`` binds to anything but a constant: an UPPER_CASE
    name bound to an immutable value, a CamelCase type alias, a logger, a TypeVar or
    ``__all__``."""
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        value = node.value
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            elements = target.elts if isinstance(target, ast.Tuple) else [target]
            for name in (ast.unparse(element) for element in elements):
                if name == "__all__" or _called(value, "TypeVar"):
                    continue
                if name in ("log", "logger") and _called(value, "get_logger", "getLogger"):
                    continue
                if _CONSTANT_NAME.fullmatch(name) and _immutable(value):
                    continue
                if _ALIAS_NAME.fullmatch(name) and _type_expression(value):
                    continue
                found.append(name)
    return found


def test_the_constant_finder_tells_constants_aliases_and_loggers_from_state() -> None:
    source = (
        "LIMIT = 3\nNAMES = ('a', 'b')\nTABLE = MappingProxyType({'a': 1})\n"
        "KINDS = frozenset(Kind) - {Kind.UNKNOWN}\nRule = Callable[[int], bool]\n"
        "Number = int | float\nlog = structlog.get_logger('x')\nT = TypeVar('T')\n"
        "__all__ = ['f']\nCACHE = {}\nSEEN = []\nregistry = Registry()\ncount = 0\n"
    )
    assert module_state(source) == ["CACHE", "SEEN", "registry", "count"]


def test_every_module_level_name_is_a_constant_an_alias_or_a_logger() -> None:
    found = {
        f"{path.relative_to(PACKAGE)}:{name}"
        for path in MODULES
        for name in module_state(path.read_text(encoding="utf-8"))
    }
    assert sorted(found - KNOWN_MUTABLE_CONSTANTS) == []
    assert sorted(KNOWN_MUTABLE_CONSTANTS - found) == [], "frozen since: take them off the list"
