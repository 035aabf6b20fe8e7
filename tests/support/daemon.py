"""Running ``snapd run`` as a child process against the in-process fake API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.conftest import TOKEN


class DaemonProcess:
    """A ``snapd run`` child whose JSON log lines are collected as they come."""

    def __init__(self, policy: Path, *arguments: str, token: str = TOKEN) -> None:
        environment = {**os.environ, "HOSTINGER_API_TOKEN": token}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "snapd.cli", "run", "-c", str(policy), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=environment,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self.raw.append(line)
                with contextlib.suppress(json.JSONDecodeError):
                    self.events.append(json.loads(line))

    def wait_for(self, event: str, timeout: float = 20.0, **fields: object) -> dict[str, Any]:
        """Wait for a log event with ``fields``; fail with the log so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for item in self.events:
                    if item.get("event") == event and all(
                        item.get(k) == v for k, v in fields.items()
                    ):
                        return item
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no {event} {fields} in:\n{''.join(self.raw)}")

    def count(self, event: str) -> int:
        with self._lock:
            return sum(1 for item in self.events if item.get("event") == event)

    @property
    def metrics_url(self) -> str:
        return str(self.wait_for("started")["metrics"])

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as answer:
            return str(answer.read().decode())

    def readiness(self) -> tuple[int, str]:
        """The status and body of /readyz."""
        url = self.metrics_url.removesuffix("/metrics") + "/readyz"
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return int(answer.status), str(answer.read().decode())
        except urllib.error.HTTPError as error:
            return int(error.code), str(error.read().decode())

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and the exit code (killed after ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._reader.join(timeout=5)


def metric_value(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a text exposition, or None."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in exposition.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return None


VM = 1268054
# The create is answered after 2 s (executed whatever the client does meanwhile) and the
# snapshot takes 2 s more.
SLOW_CREATE = [
    "--vms", "1", "--action-seconds", "2",
    "--fault", "create_snapshot:latency:seconds=2:count=1",
]  # fmt: skip
# The "decision" line comes just before the create leaves; this much later it has reached
# the fake (which holds it for 2 s before executing it) even on a loaded machine. A kill
# before it arrives would test nothing: no create, nothing to resume.
SENDING_SECONDS = 0.8


@contextmanager
def fake_api_process(folder: Path, arguments: list[str] = SLOW_CREATE) -> Iterator[str]:
    """A ``python -m snapd.fakeapi`` process on a free port; yields its base URL."""
    token_file = folder / "fake-token"
    token_file.write_text(TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "snapd.fakeapi", "--listen", "127.0.0.1:0",
         "--token-file", str(token_file), *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    try:
        yield first.removeprefix("fake Hostinger API listening on ")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        process.stdout.close()


def create_actions(base_url: str) -> int:
    """How many creates the fake API has seen for :data:`VM`."""
    answer = requests.get(
        f"{base_url}/api/vps/v1/virtual-machines/{VM}/actions",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    return sum(1 for action in answer.json()["data"] if action["name"] == "create_snapshot")


def kill_while_sending(daemon: DaemonProcess, timeout: float = 30.0) -> None:
    """SIGKILL ``daemon`` while its create is with the fake (see :data:`SLOW_CREATE`)."""
    daemon.wait_for("decision", timeout=timeout, decision="create")
    time.sleep(SENDING_SECONDS)
    os.kill(daemon.process.pid, signal.SIGKILL)
