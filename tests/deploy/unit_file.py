"""A systemd unit file read as systemd reads it: sections of ``Key=value`` lines, repeatable."""

from __future__ import annotations

from pathlib import Path


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
