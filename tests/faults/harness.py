"""The fault suite's scene: the fake API, a pipeline wired to it, metrics and captured logs.

Every row of the suite runs the same way: arrange a fault, run one slot, then check the
properties a user relies on (at most one create, the named outcome, the metric that counts
it, one log line with the correlation id, no traceback) and run the next slot to see that
the pipeline carries on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from snapd.clock import ManualClock
from snapd.clock_wrappers import SteppingClock
from snapd.config import VirtualMachinePolicy
from snapd.fakeapi import FakeHostinger
from snapd.hostinger import HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.ledger import Ledger, SqliteLedger
from snapd.ledger.locks import VirtualMachineLocks
from snapd.metrics import Metrics
from snapd.pipeline.engine import Engine
from snapd.pipeline.operations import Operations
from snapd.pipeline.outcome import ATTEMPT_RESULTS, Outcome, Result
from snapd.pipeline.wait import PollSettings
from tests.conftest import TOKEN

CREATE_NAMES = ("create_snapshot",)
# What must never appear in a log line, a metric or an error text.
HEALTH_USER, HEALTH_PASSWORD, HEALTH_KEY = "operator", "hunter2-pw", "s3cr3t-key"
SECRETS = (TOKEN, HEALTH_PASSWORD, HEALTH_KEY)


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *arguments: Any) -> None:
        return None


@contextmanager
def healthy_endpoint() -> Iterator[str]:
    """A health-check URL on port 0 that answers 200, with a user, password and key in it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        port = server.server_address[1]
        yield f"http://{HEALTH_USER}:{HEALTH_PASSWORD}@127.0.0.1:{port}/healthz?key={HEALTH_KEY}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Scene:
    """One VM of the fake, a pipeline that reports to fresh metrics, and what it logged."""

    fake: FakeHostinger
    clock: ManualClock
    state_dir: Path
    client: HostingerClient
    ledger: Ledger
    engine: Engine
    operations: Operations
    metrics: Metrics
    vm: int
    logs: list[dict[str, Any]] = field(default_factory=list)

    def creates_accepted(self) -> int:
        """Create actions the fake executed for the VM (what overwrote its snapshot)."""
        return sum(1 for action in self.fake.actions_of(self.vm) if action["name"] in CREATE_NAMES)

    def posts(self) -> int:
        """POST …/snapshot requests that reached the fake, executed or not."""
        return self.fake.count("POST", "/snapshot")

    def run(self, policy: VirtualMachinePolicy, slot: datetime | None, **options: Any) -> Outcome:
        with structlog.testing.capture_logs() as captured:
            outcome = self.engine.start_slot(policy, slot, **options).result()
        self.logs.extend(captured)
        return outcome

    def counted(self, outcome: Outcome) -> float | None:
        """The metric sample that counts ``outcome`` (attempts or skips)."""
        registry = self.metrics.registry
        vm = str(outcome.virtual_machine_id)
        if outcome.result in ATTEMPT_RESULTS:
            return registry.get_sample_value(
                "snapd_snapshot_attempts_total", {"vm": vm, "result": outcome.result.value}
            )
        if outcome.result is Result.SKIPPED:
            return registry.get_sample_value(
                "snapd_snapshot_skips_total", {"vm": vm, "reason": outcome.reason}
            )
        return None

    def finished_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.logs if line["event"] == "snapshot_finished"]

    def leaked_secrets(self, *texts: str) -> list[str]:
        """The secrets found in the logs, the metrics or ``texts`` (none, it is hoped)."""
        exposition = self.metrics.exposition().decode()
        everything = "\n".join((repr(self.logs), exposition, *texts))
        return [secret for secret in SECRETS if secret in everything]

    def tracebacks(self) -> list[dict[str, Any]]:
        return [line for line in self.logs if "exc_info" in line or "exception" in line]


def manual_budget(clock: ManualClock) -> RequestBudget:
    """A budget whose waits step the manual clock: a 5-minute pause costs no real time."""
    return RequestBudget(100_000, SteppingClock(clock), burst=100_000)


@contextmanager
def scene(
    fake: FakeHostinger, clock: ManualClock, state_dir: Path, base_url: str | None = None
) -> Iterator[Scene]:
    """A pipeline against ``fake``'s first VM (through ``base_url``, a proxy in front of the
    fake, when given); closed afterwards."""
    metrics = Metrics(CollectorRegistry())
    client = HostingerClient(
        base_url=base_url or fake.base_url,
        token=TOKEN,
        timeout=2.0,
        budget=manual_budget(clock),
        observer=metrics,
        retry_total_seconds=5.0,
        backoff_factor=0.01,
        clock=clock,
    )
    ledger = SqliteLedger.open(state_dir)
    locks = VirtualMachineLocks(state_dir)
    poll = PollSettings(first_delay=10.0, minimum_delay=1.0, maximum_delay=60.0)
    engine = Engine(client, ledger, locks, clock, observer=metrics, poll=poll)
    operations = Operations(client, ledger, locks, clock, poll=poll, observer=metrics)
    vm = fake.vm_ids[0]
    metrics.register_vms([vm])
    try:
        yield Scene(fake, clock, state_dir, client, ledger, engine, operations, metrics, vm)
    finally:
        client.close()
        ledger.close()
