"""The import direction of the package: every layer imports only the layers below it.

``cli`` → ``simulate`` → ``runtime`` → ``daemon`` → ``readiness`` → ``metrics``/``notify``
→ ``pipeline`` → ``checks``/``hostinger``/``ledger`` → ``config`` → ``clock``/``logs``/
``backoff``. The composition root (``runtime``) ranks above the daemon: it builds every
part of one, and the daemon receives them. The embedded fake API stands beside the stack:
it uses only the clock, and only the command line loads it (lazily).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "snapd"

# A higher rank may import a lower or equal one, never a higher one.
RANKS = {
    "snapd": 0,  # the package itself: __version__
    "snapd.backoff": 0,
    "snapd.clock": 0,
    "snapd.clock_wrappers": 0,  # clocks on a clock: interruptible, stepping
    "snapd.errors": 0,
    "snapd.logs": 0,
    "snapd.config": 1,
    "snapd.checks": 2,
    "snapd.hostinger": 2,
    "snapd.ledger": 2,
    "snapd.pipeline": 3,
    "snapd.metrics": 4,
    "snapd.notify": 4,
    "snapd.readiness": 5,
    "snapd.daemon": 6,
    # The composition root: builds the client, the ledger, the daemon's parts.
    "snapd.runtime": 7,
    # Drives the runtime on virtual time; the fake API is handed in by the command line.
    "snapd.simulate": 8,
    "snapd.cli": 9,
}
FAKE = "snapd.fakeapi"
# Packages of one rank that must not know each other.
SIBLINGS = {
    ("snapd.checks", "snapd.hostinger"),
    ("snapd.checks", "snapd.ledger"),
    ("snapd.hostinger", "snapd.ledger"),
    ("snapd.metrics", "snapd.notify"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str:
    """The layer a module belongs to: the longest prefix named in RANKS, or the fake."""
    if module == FAKE or module.startswith(FAKE + "."):
        return FAKE
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        prefix = ".".join(parts[:length])
        if prefix in RANKS:
            return prefix
    raise AssertionError(f"{module} belongs to no layer; add it to RANKS")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """Every snapd module ``path`` imports, with whether the import is at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "snapd":
                continue
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            target = max((name for name in names if _is_module(name)), key=len)
            found.append((target, id(node) in top_level))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top_level) for alias in node.names)
    return [(name, top) for name, top in found if name == "snapd" or name.startswith("snapd.")]


def _is_module(name: str) -> bool:
    relative = PACKAGE.parent / name.replace(".", "/")
    return relative.with_suffix(".py").is_file() or (relative / "__init__.py").is_file()


# The fake-api subcommand's grammar (no server in it).
EAGER_FAKE_IMPORTS = {
    ("snapd.cli.arguments", "snapd.fakeapi.grammar"),
}

MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: _module_name(path))
def test_a_module_imports_only_the_layers_below_it(path: Path) -> None:
    importer = _module_name(path)
    layer = _layer(importer)
    for imported, _ in _imports(path):
        target = _layer(imported)
        if layer == FAKE or target == FAKE:
            continue  # checked by the tests below
        assert RANKS[target] <= RANKS[layer], f"{importer} imports {imported}, a layer above it"
        if target != layer:
            pair = tuple(sorted((layer, target)))
            assert pair not in SIBLINGS, f"{importer} imports its sibling {imported}"


@pytest.mark.parametrize(
    "path", [path for path in MODULES if _layer(_module_name(path)) == FAKE], ids=_module_name
)
def test_the_fake_api_uses_nothing_of_snapd_but_the_clock(path: Path) -> None:
    for imported, _ in _imports(path):
        assert _layer(imported) in (FAKE, "snapd.clock"), f"{_module_name(path)}: {imported}"


def test_only_the_command_line_loads_the_fake_api_and_only_when_asked() -> None:
    for path in MODULES:
        importer = _module_name(path)
        if _layer(importer) == FAKE:
            continue
        for imported, top_level in _imports(path):
            if _layer(imported) != FAKE:
                continue
            assert _layer(importer) == "snapd.cli", f"{importer} imports the fake API"
            assert not top_level or (importer, imported) in EAGER_FAKE_IMPORTS, (
                f"{importer} imports the fake API at module level; import it where it is used"
            )


def test_the_pipeline_knows_nothing_about_http() -> None:
    for path in (PACKAGE / "pipeline").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [alias.name for alias in node.names]
                module = getattr(node, "module", None) or ""
                for name in [module, *names]:
                    assert name.split(".")[0] not in {"requests", "urllib3", "http"}, (
                        f"{path.name} imports {name}"
                    )


def test_the_command_line_starts_without_loading_the_fake_api() -> None:
    script = (
        "import sys\n"
        "import snapd.cli.dispatch\n"
        "snapd.cli.dispatch.build_parser()\n"
        "loaded = sorted(name for name in sys.modules if name.startswith('snapd.fakeapi.'))\n"
        "print(' '.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "snapd.fakeapi.fake" not in done.stdout.split()
    assert "snapd.fakeapi.server" not in done.stdout.split()


# What only the composition root (snapd.runtime) builds: the objects every command shares.
ROOT_ONLY = {
    "FleetRunner",
    "RequestBudget",
    "HostingerClient",
    "Engine",
    "Operations",
    "open_shared_ledger",
    "open_read_only",
    "shared_operation_locks",
    "SlotScheduler",
    "DaemonObserver",
    "Notifier",
}
# A constructor call outside the root, with why it may stay: the client paces a caller
# that passes no budget (a test, a one-off script) with one of its own.
ROOT_ONLY_EXCEPTIONS: frozenset[tuple[str, str]] = frozenset()


def _constructions(source: str) -> list[str]:
    """The names in ROOT_ONLY that ``source`` calls (``Name(...)`` or ``x.Name(...)``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else None
            if isinstance(function, ast.Name):
                name = function.id
            if name in ROOT_ONLY:
                found.append(name)
    return found


def test_the_construction_finder_sees_plain_and_qualified_calls() -> None:
    source = "FleetRunner(engine)\nbudget.RequestBudget(6)\nSqliteLedger.open_read_only(p)\n"
    assert _constructions(source) == ["FleetRunner", "RequestBudget", "open_read_only"]
    assert _constructions("runner: FleetRunner\nrunner.close()\n") == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: _module_name(path))
def test_only_the_runtime_constructs_the_shared_objects(path: Path) -> None:
    module = _module_name(path)
    if _layer(module) == "snapd.runtime" or _layer(module) == FAKE:
        return
    for name in _constructions(path.read_text(encoding="utf-8")):
        assert (module, name) in ROOT_ONLY_EXCEPTIONS, (
            f"{module} builds {name}; only snapd.runtime builds it, the others receive it"
        )
