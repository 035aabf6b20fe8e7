"""The policy as frozen dataclasses, and the error that says a policy cannot be used.

Built by ``snapd.config.policy_file.load_config``; imported from ``snapd.config``, which re-exports
every name here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from snapd.config.ledger import LedgerSettings
from snapd.config.notify import NotifySettings
from snapd.config.yaml_source import KeyPath, format_path

Reporter = Callable[[KeyPath, str], None]

# The Hostinger API; the client's default too (``snapd.hostinger`` re-exports it).
DEFAULT_BASE_URL = "https://developers.hostinger.com"
DEFAULT_STOP_TIMEOUT = timedelta(seconds=10)


class ConfigError(Exception):
    """The policy cannot be used. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class HealthCheck:
    url: str
    timeout: timedelta
    expect_status: tuple[int, ...]  # empty: any 2xx


@dataclass(frozen=True)
class HookCommand:
    command: tuple[str, ...]
    timeout: timedelta
    # Names of snapd's environment variables passed on (the ``env`` key), none withheld.
    environment: tuple[str, ...] = ()


@dataclass(frozen=True)
class VirtualMachinePolicy:
    """The effective settings of one VM after defaults were applied."""

    id: int
    name: str
    schedule: str
    timezone: str
    jitter: timedelta
    min_age: timedelta
    protect_manual: timedelta
    action_timeout: timedelta
    busy_timeout: timedelta
    catch_up: timedelta
    refresh_before_expiry: timedelta
    hold_after_restore: timedelta
    snapshot_lifetime: timedelta
    allowed_states: tuple[str, ...]
    health_check: HealthCheck | None
    pre_hook: HookCommand | None
    post_hook: HookCommand | None
    notify: NotifySettings | None = None
    # The ``accounts`` entry the VM belongs to; "" is the one account of a policy
    # without ``accounts`` (and the account of ledger rows written before accounts).
    account: str = ""


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    token_file: Path | None
    timeout: timedelta
    requests_per_minute: int


@dataclass(frozen=True)
class AccountSettings:
    """One Hostinger account: its token, its own request budget, its API address.

    ``name`` is "" for the one account of a policy without ``accounts``.
    """

    name: str
    token_file: Path | None
    requests_per_minute: int
    base_url: str


@dataclass(frozen=True)
class MetricsSettings:
    host: str
    port: int

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class LogSettings:
    format: str
    level: str


@dataclass(frozen=True)
class Config:
    source: Path
    api: ApiSettings
    vms: tuple[VirtualMachinePolicy, ...]
    metrics: MetricsSettings
    state_dir: Path
    log: LogSettings
    # After SIGTERM, how long `snapd run` waits for running jobs before exiting anyway.
    stop_timeout: timedelta = DEFAULT_STOP_TIMEOUT
    # Where the ledger is: SQLite in state_dir (the default) or a shared PostgreSQL.
    ledger: LedgerSettings = field(default_factory=LedgerSettings)
    # The ``accounts`` list; empty when the policy has one account, the ``api`` one.
    accounts: tuple[AccountSettings, ...] = ()

    @property
    def several_accounts(self) -> bool:
        """Whether the policy names its accounts (metrics and tables then show them)."""
        return bool(self.accounts)

    def account_list(self) -> tuple[AccountSettings, ...]:
        """The accounts to connect to: the ``accounts`` list, or the ``api`` one (name "")."""
        if self.accounts:
            return self.accounts
        api = self.api
        return (AccountSettings("", api.token_file, api.requests_per_minute, api.base_url),)

    def account_of(self, policy: VirtualMachinePolicy) -> AccountSettings:
        """The account ``policy``'s VM belongs to (the policy file guarantees one)."""
        return next(account for account in self.account_list() if account.name == policy.account)

    # The line of each key of the policy file, for the checks made after it was read.
    key_lines: dict[KeyPath, int] = field(default_factory=dict, compare=False, repr=False)
    # The keys whose value the command line gave instead (``--state-dir``), by option.
    command_line: dict[KeyPath, str] = field(default_factory=dict, compare=False, repr=False)

    def located(self, *candidates: KeyPath) -> str:
        """``FILE:LINE: KEY`` for the first of ``candidates`` the policy file spells out
        (the last one, on line 1, when it spells none): where a later check's problem is;
        the option's name (``--state-dir``) when the command line gave that key's value."""
        if candidates and candidates[0] in self.command_line:
            return self.command_line[candidates[0]]
        found = next((path for path in candidates if path in self.key_lines), None)
        chosen = found if found is not None else candidates[-1]
        return f"{self.source}:{self.key_lines.get(chosen, 1)}: {format_path(chosen)}"

    def vm(self, virtual_machine_id: int) -> VirtualMachinePolicy:
        """Return the policy of ``virtual_machine_id``; raise ``KeyError`` if not listed."""
        for policy in self.vms:
            if policy.id == virtual_machine_id:
                return policy
        raise KeyError(virtual_machine_id)
