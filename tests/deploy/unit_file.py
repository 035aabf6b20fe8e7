"""The systemd unit file: read as systemd reads it (sections of repeatable ``Key=value``
lines), and verified by ``systemd-analyze``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.deploy.support import DEPLOY
from tests.support.tools import tool

UNIT = DEPLOY / "systemd" / "hostinger-snapd.service"


def directives(path: Path) -> dict[str, list[str]]:
    """Every ``Section.Key`` with its values in order (keys may repeat); comments dropped."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


def systemd_version(analyze: str) -> int:
    answer = subprocess.run(
        [analyze, "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    return int(answer.stdout.split()[1])


def verify(folder: Path, *drop_ins: Path) -> list[str]:
    """What ``systemd-analyze verify`` says of the unit with ``drop_ins``, copied into
    ``folder``, except the line about the binary (not installed on the machine running the
    tests) and, before systemd 253, about ``notify-reload`` (not known yet: the case of
    notify-before-253.conf)."""
    analyze = tool("systemd-analyze", "systemd")
    shutil.copy(UNIT, folder)
    if drop_ins:
        directory = folder / f"{UNIT.name}.d"
        directory.mkdir()
        for drop_in in drop_ins:
            shutil.copy(drop_in, directory)
    result = subprocess.run(
        [analyze, "verify", str(folder / UNIT.name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    binary = directives(UNIT)["Service.ExecStart"][-1].split()[0]
    known_gap = "notify-reload" if systemd_version(analyze) < 253 else None
    return [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if not line.endswith(f"Command {binary} is not executable: No such file or directory")
        and not (known_gap and known_gap in line)
    ]
