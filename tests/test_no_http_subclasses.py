"""snapd uses urllib3 and requests through their public interfaces only: no class of snapd
derives from theirs, none of their pool internals is replaced, none of their private
attributes is read."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "snapd"
LIBRARIES = ("urllib3", "requests")
# Attributes that swap a library's own classes out from under it.
REPLACED_INTERNALS = {"pool_classes_by_scheme", "ConnectionCls", "key_fn_by_scheme"}
# The private path from a requests answer down to its socket (as attributes or as the
# names given to getattr).
PRIVATE_PATH = {"_fp", "_sock"}
# requests' documented way to write an authentication is to derive from its AuthBase:
# https://requests.readthedocs.io/en/latest/user/advanced/#custom-authentication
DOCUMENTED_BASES = {"AuthBase"}


def _from_libraries(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in LIBRARIES


def _library_names(tree: ast.Module) -> set[str]:
    """The names a module binds to something of urllib3 or requests."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _from_libraries(node.module):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _from_libraries(alias.name):
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def _uses_any(expression: ast.expr, names: set[str]) -> bool:
    if isinstance(expression, (ast.Name, ast.Attribute)) and _last_name(expression) in (
        DOCUMENTED_BASES
    ):
        return False
    return any(isinstance(node, ast.Name) and node.id in names for node in ast.walk(expression))


def _last_name(expression: ast.Name | ast.Attribute) -> str:
    return expression.id if isinstance(expression, ast.Name) else expression.attr


def findings(package: Path) -> list[str]:
    """Every place under ``package`` that subclasses or reaches into urllib3 or requests."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _library_names(tree)
        where = path.relative_to(package)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                if any(_uses_any(base, names) for base in node.bases):
                    found.append(f"{where}:{node.lineno}: class {node.name} derives from a library")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if (
                    node.func.id == "type"
                    and len(node.args) == 3
                    and _uses_any(node.args[1], names)
                ):
                    found.append(f"{where}:{node.lineno}: type() derives from a library")
            elif isinstance(node, ast.Attribute) and node.attr in REPLACED_INTERNALS | PRIVATE_PATH:
                found.append(f"{where}:{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.Constant) and node.value in PRIVATE_PATH:
                found.append(f"{where}:{node.lineno}: {node.value!r}")
    return found


def test_no_class_of_snapd_derives_from_urllib3_or_requests_or_reaches_into_them() -> None:
    assert findings(PACKAGE) == []


def test_the_scan_finds_a_subclass_a_replaced_pool_class_and_a_private_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "bad.py").write_text(
        "import urllib3\n"
        "from requests.adapters import HTTPAdapter as Adapter\n"
        "class Watched(Adapter):\n"
        "    pass\n"
        "class Pool(urllib3.HTTPConnectionPool):\n"
        "    pass\n"
        "manager = urllib3.PoolManager()\n"
        "manager.pool_classes_by_scheme = {}\n"
        "def sock(response):\n"
        "    return response.raw._fp\n"
        "from requests.auth import AuthBase\n"
        "class Token(AuthBase):\n"
        "    pass\n",
        encoding="utf-8",
    )

    assert findings(tmp_path) == [
        "bad.py:3: class Watched derives from a library",
        "bad.py:5: class Pool derives from a library",
        "bad.py:8: .pool_classes_by_scheme",
        "bad.py:10: ._fp",
    ]
