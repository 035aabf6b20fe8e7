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
from pathlib import Path
from typing import Any

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
