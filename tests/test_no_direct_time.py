"""Time is an input: no module of snapd reads or waits on the system clock but clock.py.

Every other module receives a ``Clock`` or a time function (whose default comes from
``snapd.clock``), so tests can drive it with a manual clock.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "snapd"
CLOCK_MODULE = PACKAGE / "clock.py"

# module → the attributes of it that read or wait on a real clock
FORBIDDEN = {
    "time": {
        "time",
        "time_ns",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "sleep",
        "clock_gettime",
        "clock_gettime_ns",
    },
    "datetime": {"now", "utcnow", "today"},
    "date": {"today"},
}


def _direct_uses(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in FORBIDDEN.get(node.value.id, set()):
                found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            names = [alias.name for alias in node.names if alias.name in FORBIDDEN["time"]]
            found.extend(f"{path.name}:{node.lineno}: from time import {name}" for name in names)
    return found


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if path != CLOCK_MODULE)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_but_the_clock_reads_or_waits_on_the_system_clock(path: Path) -> None:
    assert _direct_uses(path) == []


def test_the_check_sees_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import time\nfrom datetime import UTC, datetime\nfrom time import monotonic\n"
        "time.sleep(1)\nwhen = datetime.now(UTC)\n"
    )
    assert _direct_uses(sample) == [
        "sample.py:3: from time import monotonic",
        "sample.py:4: time.sleep",
        "sample.py:5: datetime.now",
    ]
