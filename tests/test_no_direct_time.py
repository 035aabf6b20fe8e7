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

# The second rule: time read or waited on through an injected Clock, never through
# ``snapd.clock.monotonic`` or a timed ``.wait(``.
# module (relative to snapd/) → why a timed wait or a monotonic import stays there
KNOWN_REAL_TIME = {
    # a hook is a real process: its timeout is real time
    "checks/hooks.py": "subprocess.Popen.wait(timeout=...)",
    # the fake API's latency faults and its command loop run in real time: they stand
    # for a real server's sockets, not for snapd's own waits
    "fakeapi/command.py": "the fake API command's stop check",
    "fakeapi/server.py": "the fake API's delivery delays",
}


def _timed_waits_and_monotonic_imports(path: Path) -> list[str]:
    """Calls ``event.wait(seconds)`` / ``x.wait(timeout=...)`` and ``from snapd.clock import
    monotonic``: a wait or a clock read that a manual clock cannot drive."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # One argument (or ``timeout=``): an event's or a condition's own timed wait;
            # a Clock's ``wait(target, seconds)`` takes two.
            timed = len(node.args) == 1 or any(
                keyword.arg == "timeout" for keyword in node.keywords
            )
            if node.func.attr == "wait" and timed:
                found.append(f"{path.name}:{node.lineno}: timed .wait(")
        elif isinstance(node, ast.ImportFrom) and node.module == "snapd.clock":
            names = [alias.name for alias in node.names if alias.name == "monotonic"]
            found.extend(
                f"{path.name}:{node.lineno}: from snapd.clock import {name}" for name in names
            )
    return found


ON_THE_CLOCK = [
    path for path in MODULES if path.relative_to(PACKAGE).as_posix() not in KNOWN_REAL_TIME
]


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


@pytest.mark.parametrize("path", ON_THE_CLOCK, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_waits_or_reads_monotonic_time_but_through_its_clock(path: Path) -> None:
    assert _timed_waits_and_monotonic_imports(path) == []


def test_every_module_known_to_wait_in_real_time_still_does(tmp_path: Path) -> None:
    """The list of exceptions shrinks as modules move onto the clock: a stale entry fails."""
    stale = [
        name for name in KNOWN_REAL_TIME if not _timed_waits_and_monotonic_imports(PACKAGE / name)
    ]
    assert stale == []


def test_the_wait_check_sees_timed_waits_and_monotonic_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from snapd.clock import monotonic, utc_text\n"
        "stop.wait(5)\nchanged.wait(timeout=1)\nclock.wait(stop, 5)\nchanged.wait()\n"
    )
    assert _timed_waits_and_monotonic_imports(sample) == [
        "sample.py:1: from snapd.clock import monotonic",
        "sample.py:2: timed .wait(",
        "sample.py:3: timed .wait(",
    ]
