"""The composition root: the one place that builds real objects from a policy.

The client and its request budget, the ledger, the per-VM locks, the engine and the
operations (``open_runtime``), the workers and poller that run slots (``Runtime.fleet``)
and the notifier of ``snapd once``; :mod:`snapd.runtime.daemon` adds the daemon's parts.
Everything below receives what it needs; nothing else builds these. The clock is handed
in (a manual one and the in-process fake API's base URL in tests), so the same root
serves every command.

Every failure here is the operator's to fix (no token, a missing state directory, an
unusable base URL) and becomes a ``UsageError``: one line, exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from snapd.clock import Clock, ManualClock, SystemClock
from snapd.clock_wrappers import SteppingClock
from snapd.config import Config, VirtualMachinePolicy
from snapd.errors import UsageError as UsageError  # raised here, caught by the commands
from snapd.hostinger import ApiObserver, HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.hostinger.connections import ConnectionSource
from snapd.ledger import Ledger, backends
from snapd.ledger.locks import VirtualMachineLocks
from snapd.notify.delivery import DeliveryWorker
from snapd.notify.notifier import Notifier
from snapd.pipeline.engine import Engine
from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.fleet_view import FleetView
from snapd.pipeline.operations import Operations
from snapd.pipeline.outcome import OutcomeObserver
from snapd.pipeline.urgency import Urgency
from snapd.pipeline.wait import PollSettings
from snapd.pipeline.workers import DEFAULT_WORKERS
from snapd.readiness import Readiness as Readiness
from snapd.readiness import check_readiness as check_readiness
from snapd.runtime.state import open_ledger, operation_locks

log = structlog.get_logger("snapd.runtime")

#: How long a command line keeps retrying a read whose connection cannot be made: an
#: operator at a terminal wants "connection refused" in seconds, not after minutes.
COMMAND_LINE_CONNECTION_RETRY_SECONDS = 5.0


def build_client(
    config: Config,
    *,
    budget: RequestBudget | None = None,
    observer: ApiObserver | None = None,
    token: str | None = None,
    connection_retry_seconds: float | None = None,
    clock: Clock | None = None,
    connections: ConnectionSource | None = None,
) -> HostingerClient:
    """The API client with the token from the usual places; raise ``UsageError``.

    ``clock`` (default: the real one) is the local time the client compares the API's
    ``Date`` and ``Retry-After`` dates with: the runtime's own, so that a manual clock
    shared with the fake API gives a true server-clock offset.

    The checks are ``check_readiness``'s (without the hooks), so what ``config validate``
    accepts is what this accepts. ``connection_retry_seconds`` bounds the retries of a
    read that cannot connect (see :data:`COMMAND_LINE_CONNECTION_RETRY_SECONDS`); the
    daemon keeps the client's default. ``connections`` replaces the client's sockets (the
    simulation's in-process fake API); everything above them stays the same.
    """
    if token is None:
        readiness = check_readiness(config, hooks=False)
        if readiness.problems or readiness.token is None:
            raise UsageError(*readiness.problems)
        for warning in readiness.warnings:
            log.warning("secret_file_permissions", detail=warning)
        token = readiness.token.value
    try:
        return HostingerClient(
            base_url=config.api.base_url,
            token=token,
            timeout=config.api.timeout.total_seconds(),
            budget=budget or RequestBudget(config.api.requests_per_minute),
            observer=observer,
            connection_retry_seconds=connection_retry_seconds,
            clock=clock,
            connections=connections,
        )
    except ValueError as error:
        raise UsageError(f"cannot use the API settings: {error}") from None


def budget_on(config: Config, clock: ManualClock) -> RequestBudget:
    """The request budget paced on ``clock``, the simulation's virtual time: one thread
    drives it, so a wait for the next slot advances the clock (a ``SteppingClock``)."""
    return RequestBudget(config.api.requests_per_minute, SteppingClock(clock))


@dataclass
class Runtime:
    """Everything a command that talks to the API needs; close it when done."""

    config: Config
    client: HostingerClient
    ledger: Ledger
    locks: VirtualMachineLocks
    clock: Clock
    engine: Engine
    operations: Operations
    budget: RequestBudget

    def fleet(self, workers: int = DEFAULT_WORKERS) -> FleetRunner:
        """The workers and the poller that run this runtime's slots, oldest restore point
        first (from the ledger's last successes). The poller waits on the runtime's clock."""
        return FleetRunner(
            self.engine,
            workers=workers,
            requests_per_minute=self.config.api.requests_per_minute,
            urgency=Urgency(self.ledger.last_successes()),
        )

    def policies(self, virtual_machine_ids: list[int], every: bool) -> list[VirtualMachinePolicy]:
        """The policies named on the command line; raise ``UsageError`` for unknown ids."""
        if every:
            return list(self.config.vms)
        unknown = [str(vm) for vm in virtual_machine_ids if vm not in self.known_ids]
        if unknown:
            raise UsageError(f"virtual machine(s) {', '.join(unknown)} not in {self.config.source}")
        return [self.config.vm(vm) for vm in virtual_machine_ids]

    @property
    def known_ids(self) -> set[int]:
        return {policy.id for policy in self.config.vms}

    def close(self) -> None:
        self.client.close()
        self.locks.close()
        self.ledger.close()


def open_runtime(  # noqa: PLR0913 - optional collaborators and settings, each with a default
    config: Config,
    *,
    clock: Clock | None = None,
    observer: OutcomeObserver | None = None,
    api_observer: ApiObserver | None = None,
    budget: RequestBudget | None = None,
    poll: PollSettings | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    token: str | None = None,
    ledger: Ledger | None = None,
    connection_retry_seconds: float | None = None,
    connections: ConnectionSource | None = None,
) -> Runtime:
    """Build the runtime for ``config``; raise ``UsageError``.

    ``ledger``, when given, is already open (the daemon's observer reads holds from it).
    ``connections``: see ``build_client``.
    """
    chosen_clock = clock or SystemClock()
    budget = budget or RequestBudget(config.api.requests_per_minute)
    try:
        client = build_client(
            config, budget=budget, observer=api_observer, token=token,
            connection_retry_seconds=connection_retry_seconds, clock=chosen_clock,
            connections=connections,
        )  # fmt: skip
    except UsageError:
        if ledger is not None:
            ledger.close()
        raise
    if ledger is None:
        try:
            ledger = open_ledger(config)
        except UsageError:
            client.close()
            raise
    locks = operation_locks(config)
    if config.ledger.shared:
        backends.fence_pending_rows(ledger, locks)
    # One shared view of the fleet per runtime: the VMs of a pass (``once --all``, or the
    # daemon's slots that fall due together) take their state from one list call.
    engine = Engine(
        client, ledger, locks, chosen_clock,
        observer=observer, poll=poll, should_stop=should_stop,
        fleet=FleetView(client, chosen_clock),
    )  # fmt: skip
    operations = Operations(client, ledger, locks, chosen_clock, poll=poll, should_stop=should_stop)
    return Runtime(config, client, ledger, locks, chosen_clock, engine, operations, budget)


def build_one_shot_notifier(config: Config) -> Notifier | None:
    """The notifier of a command that runs once (``snapd once``); None without targets."""
    policies = {policy.id: policy for policy in config.vms if policy.notify is not None}
    if not policies:
        return None
    return Notifier(policies.get, DeliveryWorker())
