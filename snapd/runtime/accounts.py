"""One connection per Hostinger account: its own client and its own request budget.

The API's rate limit is per token, and a refused token refuses only its own account's
requests: so each account of the policy gets a client of its own, paced by a budget of its
own, and an engine and operations that use that client. A 429 storm or a 401 in one account
then never slows or stops another's slots. A policy without ``accounts`` has one account,
named "", built exactly as before there were several.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from snapd.clock import Clock
from snapd.config import AccountSettings, Config
from snapd.hostinger import ApiObserver, HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.ledger import Ledger
from snapd.ledger.locks import VirtualMachineLocks
from snapd.pipeline.accounts import AccountFleets
from snapd.pipeline.engine import Engine
from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.fleet_view import FleetView
from snapd.pipeline.operations import Operations
from snapd.pipeline.outcome import OutcomeObserver
from snapd.pipeline.urgency import Urgency
from snapd.pipeline.wait import PollSettings


@dataclass
class AccountConnection:
    """What talks to one account: its client, its budget, and the engine and operations
    built on that client."""

    account: AccountSettings
    client: HostingerClient
    budget: RequestBudget
    engine: Engine
    operations: Operations


@dataclass(frozen=True)
class AccountOptions:
    """What ``open_runtime`` is handed per account, by name: budgets, tokens, and the API
    observer of each account (None: the one observer, if any, serves every account)."""

    budgets: Mapping[str, RequestBudget] = field(default_factory=dict)
    tokens: Mapping[str, str] = field(default_factory=dict)
    observers: Callable[[str], ApiObserver | None] | None = None

    def with_single(
        self,
        config: Config,
        budget: RequestBudget | None,
        token: str | None,
        observer: ApiObserver | None,
    ) -> AccountOptions:
        """These options with ``open_runtime``'s one-account arguments added: ``budget``
        and ``token`` belong to the first account, ``observer`` to any account that has
        none of its own."""
        first = config.account_list()[0].name
        budgets = dict(self.budgets)
        tokens = dict(self.tokens)
        if budget is not None:
            budgets.setdefault(first, budget)
        if token is not None:
            tokens.setdefault(first, token)
        own = self.observers
        return AccountOptions(
            budgets, tokens, (lambda name: own(name) or observer) if own else (lambda _: observer)
        )

    def observer(self, name: str) -> ApiObserver | None:
        return self.observers(name) if self.observers is not None else None

    def budget(self, account: AccountSettings) -> RequestBudget:
        """The account's budget: the one handed in, else a fresh one at its rate."""
        given = self.budgets.get(account.name)
        return given if given is not None else RequestBudget(account.requests_per_minute)


@dataclass(frozen=True)
class EngineSettings:
    """What every account's engine and operations share besides ledger, locks and clock."""

    observer: OutcomeObserver | None
    poll: PollSettings | None
    should_stop: Callable[[], bool]


def connect(
    account: AccountSettings,
    client: HostingerClient,
    budget: RequestBudget,
    state: tuple[Ledger, VirtualMachineLocks, Clock],
    settings: EngineSettings,
) -> AccountConnection:
    """The engine and operations of ``account`` on its ``client``; ``state`` is shared."""
    ledger, locks, clock = state
    stop = settings.should_stop
    # One shared view of the account's fleet: the VMs of a pass (``once --all``, or the
    # daemon's slots that fall due together) take their state from one list call.
    engine = Engine(
        client, ledger, locks, clock,
        observer=settings.observer, poll=settings.poll, should_stop=stop,
        fleet=FleetView(client, clock),
    )  # fmt: skip
    operations = Operations(client, ledger, locks, clock, poll=settings.poll, should_stop=stop)
    return AccountConnection(account, client, budget, engine, operations)


def connect_all(
    config: Config,
    built: tuple[Mapping[str, HostingerClient], Mapping[str, RequestBudget]],
    state: tuple[Ledger, VirtualMachineLocks, Clock],
    settings: EngineSettings,
) -> dict[str, AccountConnection]:
    """``connect`` every account of ``config`` with its client and budget (``built``)."""
    clients, budgets = built
    return {
        account.name: connect(account, clients[account.name], budgets[account.name], state,
                              settings)
        for account in config.account_list()
    }  # fmt: skip


def account_fleets(
    connections: Mapping[str, AccountConnection], workers: int, urgency: Urgency
) -> AccountFleets:
    """One ``FleetRunner`` per account, on its engine and at its rate, sharing ``urgency``
    (oldest restore point first across every account)."""
    runners = {
        name: FleetRunner(
            connection.engine,
            workers=workers,
            requests_per_minute=connection.account.requests_per_minute,
            urgency=urgency,
        )
        for name, connection in connections.items()
    }
    return AccountFleets(runners)


def close_clients(clients: Mapping[str, HostingerClient]) -> None:
    """Close the clients built so far (a later account's failed)."""
    for client in clients.values():
        client.close()


def account_budgets(config: Config, clock: Clock) -> dict[str, RequestBudget]:
    """A fresh request budget per account, at that account's ``requests_per_minute``,
    pacing and waiting on ``clock``."""
    return {
        account.name: RequestBudget(account.requests_per_minute, clock)
        for account in config.account_list()
    }


def close_all(connections: Mapping[str, AccountConnection]) -> None:
    """Close every account's client."""
    for connection in connections.values():
        connection.client.close()
