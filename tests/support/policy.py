"""The one policy writer of the daemon tests: a daemon's policy file, written to disk."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

HOURLY = "0 * * * *"
# A snapshot taken a moment ago does not hold back the next one.
NO_MANUAL_PROTECTION = "protect_manual: 0s"


def write_policy(
    path: Path,
    base_url: str,
    vms: Iterable[int],
    state_dir: Path,
    *,
    schedule: str = "0 3 * * *",
    defaults: str = "catch_up: 2d",
    timeout: str = "10s",
    extra: str = "",
) -> Path:
    """Write a daemon policy to ``path`` and return ``path``.

    The API at ``base_url`` with 6000 requests a minute, one entry per id of ``vms``,
    metrics on a free port, JSON logs, ``state_dir``. ``defaults`` is added inside the
    defaults mapping after the schedule; ``extra`` lines follow the VM list (indented four
    spaces they add keys to the last VM, unindented they are top-level keys).
    """
    listing = "".join(f"  - id: {vm}\n" for vm in vms)
    inside = f'schedule: "{schedule}"' + (f", {defaults}" if defaults else "")
    path.write_text(
        f"api: {{base_url: '{base_url}', timeout: {timeout}, requests_per_minute: 6000}}\n"
        f"defaults: {{{inside}}}\n"
        f"vms:\n{listing}{extra}"
        "metrics: {listen: '127.0.0.1:0'}\n"
        f"state_dir: {state_dir}\n"
        "log: {format: json}\n",
        encoding="utf-8",
    )
    return path
