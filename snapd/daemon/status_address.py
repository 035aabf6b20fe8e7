"""Where a running daemon serves ``/status``, and asking it.

The daemon writes its metrics listener's base URL into ``state_dir/daemon.url`` once it
listens and removes the file when it stops. ``snapd status`` on the same ``state_dir``
reads it, checks that the daemon holding ``state_dir``'s lock is the one answering (the
``pid`` in the document is the one in ``daemon.lock``), and otherwise asks the API: a
stale file, a dead daemon or a port now used by something else never serve old facts.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.daemon.fleet_status import MachineStates, status_document
from snapd.ledger.locks import DAEMON_LOCK_NAME
from snapd.metrics import Metrics

log = structlog.get_logger("snapd.daemon")

__all__ = [
    "STATUS_ADDRESS_NAME",
    "FleetStatus",
    "fetch_daemon_status",
    "remove_status_address",
    "write_status_address",
]

STATUS_ADDRESS_NAME = "daemon.url"
#: A daemon on this machine answers within milliseconds; a hung one must not hold the
#: operator up for long before ``status`` asks the API instead.
FETCH_TIMEOUT_SECONDS = 5.0


def write_status_address(state_dir: Path, url: str) -> None:
    """Write ``url`` (``http://HOST:PORT``) for ``status``; readable by everyone who can
    read ``state_dir`` (a read-only monitoring user), as it holds no secret."""
    path = Path(state_dir) / STATUS_ADDRESS_NAME
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(url + "\n", encoding="utf-8")
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def remove_status_address(state_dir: Path) -> None:
    """Remove the file; nothing happens when it is gone already."""
    (Path(state_dir) / STATUS_ADDRESS_NAME).unlink(missing_ok=True)


def _lock_pid(state_dir: Path) -> int | None:
    """The pid in ``daemon.lock`` (None: no daemon holds it, or it cannot be read)."""
    try:
        text = (Path(state_dir) / DAEMON_LOCK_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def fetch_daemon_status(
    state_dir: Path, timeout: float = FETCH_TIMEOUT_SECONDS
) -> dict[str, Any] | None:
    """The running daemon's ``/status`` document, or None when no daemon answers for
    ``state_dir`` (no file, nothing listening, another process, an odd answer)."""
    try:
        url = (Path(state_dir) / STATUS_ADDRESS_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    pid = _lock_pid(state_dir)
    if pid is None or not url.startswith("http://"):
        return None
    # Straight to the listener: a proxy from the environment has no business here.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + "/status", timeout=timeout) as answer:
            document = json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if not isinstance(document, dict) or document.get("pid") != pid:
        return None
    if not isinstance(document.get("vms"), list):
        return None
    return document


class FleetStatus:
    """The daemon's /status: the view it serves and the address file that points to it.

    Args:
        state_dir: where ``daemon.url`` goes.
        policies: the current policies (a reload changes them).
        metrics: what the daemon exports per VM.
        clock: the daemon's clock.
    """

    def __init__(
        self,
        state_dir: Path,
        policies: Callable[[], Sequence[VirtualMachinePolicy]],
        metrics: Metrics,
        clock: Clock,
    ) -> None:
        self.state_dir = state_dir
        self.policies = policies
        self.metrics = metrics
        self.clock = clock
        self.machines = MachineStates(clock)

    def __call__(self) -> dict[str, Any]:
        """The /status document (see ``snapd.daemon.fleet_status``); no API call."""
        return status_document(
            self.policies(), self.metrics, self.machines, self.clock.now(), os.getpid()
        )

    def publish(self, url: str) -> None:
        """Tell ``snapd status`` on this state_dir where /status is (best effort)."""
        try:
            write_status_address(self.state_dir, url)
        except OSError as error:
            log.warning("status_address_not_written", error=error.strerror or str(error))

    def withdraw(self) -> None:
        """Remove the address file (best effort): the daemon stops answering."""
        try:
            remove_status_address(self.state_dir)
        except OSError as error:
            log.warning("status_address_not_removed", error=error.strerror or str(error))
