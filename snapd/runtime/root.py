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
from dataclasses import dataclass, field

import structlog

from snapd.clock import Clock, ManualClock, SystemClock
from snapd.clock_wrappers import SteppingClock
from snapd.config import AccountSettings, Config, VirtualMachinePolicy
from snapd.errors import UsageError as UsageError  # raised here, caught by the commands
from snapd.hostinger import ApiObserver, HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.hostinger.connections import ConnectionSource
from snapd.ledger import Ledger, backends
from snapd.ledger.locks import VirtualMachineLocks
from snapd.notify.delivery import DeliveryWorker
from snapd.notify.notifier import Notifier
from snapd.pipeline.accounts import SlotRunner
from snapd.pipeline.engine import Engine
from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.operations import Operations
from snapd.pipeline.outcome import OutcomeObserver
from snapd.pipeline.urgency import Urgency
from snapd.pipeline.wait import PollSettings
from snapd.pipeline.workers import DEFAULT_WORKERS
from snapd.readiness import Readiness as Readiness
from snapd.readiness import check_readiness as check_readiness
from snapd.runtime.accounts import (
    AccountConnection,
    AccountOptions,
    EngineSettings,
    account_fleets,
    close_all,
    close_clients,
    connect_all,
)
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
    account: AccountSettings | None = None,
) -> HostingerClient:
    """The API client of ``account`` (default: the policy's first, the ``api`` one without
    ``accounts``) with its token from the usual places; raise ``UsageError``.

    ``clock`` (default: the real one) is the local time the client compares the API's
    ``Date`` and ``Retry-After`` dates with: the runtime's own, so that a manual clock
    shared with the fake API gives a true server-clock offset.

    The checks are ``check_readiness``'s (without the hooks), so what ``config validate``
    accepts is what this accepts. ``connection_retry_seconds`` bounds the retries of a
    read that cannot connect (see :data:`COMMAND_LINE_CONNECTION_RETRY_SECONDS`); the
    daemon keeps the client's default. ``connections`` replaces the client's sockets (the
    simulation's in-process fake API); everything above them stays the same.
    """
    account = account or config.account_list()[0]
    if token is None:
        readiness = check_readiness(config, hooks=False)
        found = readiness.tokens.get(account.name)
        if readiness.problems or found is None:
            raise UsageError(*readiness.problems)
        for warning in readiness.warnings:
            log.warning("secret_file_permissions", detail=warning)
        token = found.value
    try:
        return HostingerClient(
            base_url=account.base_url,
            token=token,
            timeout=config.api.timeout.total_seconds(),
            budget=budget or RequestBudget(account.requests_per_minute),
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
    # Every account's connection by name; ``client`` and the rest above are the first's.
    connections: dict[str, AccountConnection] = field(default_factory=dict)

    def fleet(self, workers: int = DEFAULT_WORKERS) -> SlotRunner:
        """The workers and the poller that run this runtime's slots, oldest restore point
        first (from the ledger's last successes). The poller waits on the runtime's clock.
        With several accounts, each has its own workers and poller (``AccountFleets``)."""
        urgency = Urgency(self.ledger.last_successes())
        if len(self.connections) <= 1:
            rate = self.config.account_list()[0].requests_per_minute
            return FleetRunner(
                self.engine, workers=workers, requests_per_minute=rate, urgency=urgency
            )
        return account_fleets(self.connections, workers, urgency)

    def operations_for(self, policy: VirtualMachinePolicy) -> Operations:
        """The operations (restore, delete) on the client of ``policy``'s account."""
        connection = self.connections.get(policy.account)
        return connection.operations if connection is not None else self.operations

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
        if self.connections:
            close_all(self.connections)
        else:
            self.client.close()
        self.locks.close()
        self.ledger.close()


def _build_clients(
    config: Config,
    given: tuple[AccountOptions, dict[str, RequestBudget]],
    settings: tuple[float | None, Clock, ConnectionSource | None],
    clients: dict[str, HostingerClient],
) -> None:
    """``build_client`` for every account with what ``given`` holds for it, into
    ``clients`` (so that a caller can close those built before one raised)."""
    options, budgets = given
    connection_retry_seconds, clock, connections = settings
    for account in config.account_list():
        clients[account.name] = build_client(
            config, budget=budgets[account.name], observer=options.observer(account.name),
            token=options.tokens.get(account.name),
            connection_retry_seconds=connection_retry_seconds, clock=clock,
            connections=connections, account=account,
        )  # fmt: skip


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
    accounts: AccountOptions | None = None,
) -> Runtime:
    """Build the runtime for ``config``; raise ``UsageError``.

    ``ledger``, when given, is already open (the daemon's observer reads holds from it).
    ``connections``: see ``build_client`` (every account's client uses it). ``budget``,
    ``token`` and ``api_observer`` serve the first account; ``accounts`` gives each its
    own (see ``AccountOptions``; what it leaves out comes from the policy and the usual
    places).
    """
    chosen_clock = clock or SystemClock()
    options = (accounts or AccountOptions()).with_single(config, budget, token, api_observer)
    budgets = {account.name: options.budget(account) for account in config.account_list()}
    clients: dict[str, HostingerClient] = {}
    try:
        settings = (connection_retry_seconds, chosen_clock, connections)
        _build_clients(config, (options, budgets), settings, clients)
        if ledger is None:
            ledger = open_ledger(config)
    except UsageError:
        close_clients(clients)
        if ledger is not None:
            ledger.close()
        raise
    locks = operation_locks(config)
    if config.ledger.shared:
        backends.fence_pending_rows(ledger, locks)
    account_connections = connect_all(
        config, (clients, budgets), (ledger, locks, chosen_clock),
        EngineSettings(observer, poll, should_stop),
    )  # fmt: skip
    first = next(iter(account_connections.values()))
    return Runtime(
        config, first.client, ledger, locks, chosen_clock, first.engine, first.operations,
        first.budget, account_connections,
    )  # fmt: skip


def build_one_shot_notifier(config: Config) -> Notifier | None:
    """The notifier of a command that runs once (``snapd once``); None without targets."""
    policies = {policy.id: policy for policy in config.vms if policy.notify is not None}
    if not policies:
        return None
    return Notifier(policies.get, DeliveryWorker())
