"""``snapd status``: what every VM's restore point looks like now.

With a daemon running on the same ``state_dir``, the VM states and snapshots come from the
daemon's ``/status`` (no API request at all). Otherwise one request lists every VM's state,
then the snapshots are read side by side by a small pool of threads, paced by the request
budget like every other request. Last success, hold and pending action come from the
ledger either way (one query each for the whole fleet).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from snapd.cli.commands import ExitCode
from snapd.cli.commands.formatting import age, iso_utc, table
from snapd.cli.commands.inspect import pending_text
from snapd.cli.commands.loading import refused_token
from snapd.config import Config, VirtualMachinePolicy
from snapd.config.schedule import build_trigger, next_slots
from snapd.hostinger import ApiError, AuthenticationError, HostingerClient
from snapd.ledger import Ledger

__all__ = ["READERS", "STATUS_HEADERS", "status", "status_from_daemon"]

STATUS_HEADERS = (
    "VM",
    "NAME",
    "STATE",
    "SNAPSHOT",
    "EXPIRES",
    "LAST SUCCESS",
    "HOLD",
    "NEXT RUN",
    "PENDING",
)
#: Snapshot reads in flight at once; the request budget sets the pace, these only hide
#: the latency of each answer.
READERS = 16


@dataclass(frozen=True)
class _Seen:
    """What is known of one VM's state and restore point."""

    state: str
    snapshot: tuple[datetime | None, datetime | None] | None  # (created, expires); None: none
    failed: bool = False
    next_run: datetime | None = None  # the daemon's own; None: computed from the schedule


class _Progress:
    """``reading snapshots: 120/1000`` on a terminal, rewritten in place; silent otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.shown = stream.isatty() and total > 0
        self.done = 0
        self._lock = threading.Lock()

    def step(self) -> None:
        if not self.shown:
            return
        with self._lock:
            self.done += 1
            self.stream.write(f"\rreading snapshots: {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _read_snapshots(client: HostingerClient, ids: list[int], progress: _Progress) -> dict[int, Any]:
    """VM id → its snapshot (None: it has none) or the ``ApiError`` that its read raised."""

    def read(virtual_machine_id: int) -> Any:
        try:
            return client.get_snapshot(virtual_machine_id)
        except ApiError as error:
            return error
        finally:
            progress.step()

    if not ids:
        return {}
    with ThreadPoolExecutor(min(READERS, len(ids)), thread_name_prefix="snapd-status") as pool:
        return dict(zip(ids, pool.map(read, ids), strict=True))


def status(
    config: Config,
    client: HostingerClient | Mapping[str, HostingerClient],
    ledger: Ledger,
    now: datetime,
) -> int:
    """One row per VM from the API; exit 1 when the API could not be read for any VM.

    ``client`` is the one account's, or each account's by name (``accounts``): one list
    request per account for its VMs' states, then one snapshot read per listed VM. Reads
    the ledger only, so a read-only ledger serves (a monitoring user).
    """
    clients = client if isinstance(client, Mapping) else {"": client}
    seen: dict[int, _Seen] = {}
    for name, account_client in clients.items():
        policies = [policy for policy in config.vms if policy.account == name or len(clients) == 1]
        found = _seen_from_api(config, policies, (name, account_client))
        if found is None:
            return ExitCode.FAILURE
        seen.update(found)
    return _print(config.vms, seen, ledger, now)


def _seen_from_api(
    config: Config, policies: list[VirtualMachinePolicy], reader: tuple[str, HostingerClient]
) -> dict[int, _Seen] | None:
    """What one account's API shows of ``policies``; None (said why) when it cannot list.
    ``reader`` is the account's name and client."""
    account, client = reader
    try:
        # One request for every VM's state: the request budget is shared with the daemon.
        machines = {machine.id: machine for machine in client.list_virtual_machines()}
    except ApiError as error:
        print(f"snapd: error: cannot list the virtual machines: {error}", file=sys.stderr)
        if isinstance(error, AuthenticationError):
            print(f"snapd: error: {refused_token(config, account)}", file=sys.stderr)
        return None
    listed = [policy.id for policy in policies if policy.id in machines]
    progress = _Progress(len(listed), sys.stderr)
    try:
        snapshots = _read_snapshots(client, listed, progress)
    finally:
        progress.close()
    seen = {}
    for policy in policies:
        machine = machines.get(policy.id)
        found = snapshots.get(policy.id)
        if machine is None:
            seen[policy.id] = _Seen("not in this account", None, failed=True)
        elif isinstance(found, ApiError):
            seen[policy.id] = _Seen(f"error: {found.status or 'no answer'}", None, failed=True)
        else:
            state = machine.state + (" (locked)" if machine.is_locked else "")
            times = None if found is None else (found.created_at, found.expires_at)
            seen[policy.id] = _Seen(state, times)
    return seen


def status_from_daemon(
    config: Config, document: dict[str, Any], ledger: Ledger, now: datetime
) -> int:
    """One row per VM from a running daemon's ``/status`` document; no API request.

    A VM the daemon has not looked at yet shows ``unknown``; exit 1 as from the API when
    a VM is not in the account.
    """
    entries = {entry.get("id"): entry for entry in document["vms"] if isinstance(entry, dict)}
    listed = document.get("listed_at") is not None
    seen = {}
    for policy in config.vms:
        entry = entries.get(policy.id, {})
        state = entry.get("state")
        snapshot = entry.get("snapshot")
        next_run = _parse(entry.get("next_run"))
        if state is None:
            missing = listed and policy.id in entries
            text = "not in this account" if missing else "unknown"
            seen[policy.id] = _Seen(text, None, failed=missing, next_run=next_run)
            continue
        text = state + (" (locked)" if entry.get("locked") else "")
        if not isinstance(snapshot, dict):  # not read yet
            seen[policy.id] = _Seen(text, (None, None), next_run=next_run)
        elif snapshot.get("present"):
            times = (_parse(snapshot.get("created_at")), _parse(snapshot.get("expires_at")))
            seen[policy.id] = _Seen(text, times, next_run=next_run)
        else:
            seen[policy.id] = _Seen(text, None, next_run=next_run)
    return _print(config.vms, seen, ledger, now)


def _parse(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _print(
    policies: Iterable[VirtualMachinePolicy],
    seen: dict[int, _Seen],
    ledger: Ledger,
    now: datetime,
) -> int:
    last_successes = ledger.last_successes()
    holds = {hold.virtual_machine_id: hold for hold in ledger.holds(now)}
    pending = {action.virtual_machine_id: action for action in ledger.pending()}
    rows: dict[str, list[list[str]]] = {}
    for policy in policies:
        known = seen[policy.id]
        hold = holds.get(policy.id)
        next_run = known.next_run or _next_slot(policy, now)
        rows.setdefault(policy.account, []).append(
            [
                str(policy.id),
                policy.name,
                known.state,
                *_snapshot_cells(known.snapshot, now),
                iso_utc(last_successes.get(policy.id)) if policy.id in last_successes else "never",
                f"until {iso_utc(hold.until)}: {hold.reason}" if hold else "-",
                iso_utc(next_run),
                pending_text(pending.get(policy.id)),
            ]
        )
    # With several accounts, one table per account under its name.
    for account, account_rows in rows.items():
        if account:
            print(f"account {account}", file=sys.stdout)
        print(table(STATUS_HEADERS, account_rows), file=sys.stdout)
    return ExitCode.FAILURE if any(known.failed for known in seen.values()) else ExitCode.OK


def _next_slot(policy: VirtualMachinePolicy, now: datetime) -> datetime | None:
    upcoming = next_slots(build_trigger(policy.schedule, policy.timezone), now, 1)
    return upcoming[0] if upcoming else None


def _snapshot_cells(
    snapshot: tuple[datetime | None, datetime | None] | None, now: datetime
) -> list[str]:
    if snapshot is None:
        return ["none", "-"]
    created, expires = snapshot
    if created is None and expires is None:
        return ["unknown", "-"]
    return [
        f"{iso_utc(created)} ({age(created, now)})",
        f"{iso_utc(expires)} ({age(expires, now)})",
    ]


def run(arguments: argparse.Namespace) -> int:
    """``snapd status``: from the daemon on this ``state_dir`` when one runs (it already
    knows the fleet), else from the API and the ledger."""
    from snapd.cli.commands.loading import load
    from snapd.clock import utc_now
    from snapd.daemon.status_address import fetch_daemon_status
    from snapd.runtime import COMMAND_LINE_CONNECTION_RETRY_SECONDS, build_client, open_ledger

    config = load(arguments)
    document = fetch_daemon_status(config.state_dir)
    if document is not None:
        with open_ledger(config, read_only_if_needed=True) as ledger:
            return status_from_daemon(config, document, ledger, utc_now())
    retry = COMMAND_LINE_CONNECTION_RETRY_SECONDS
    clients = {}
    try:
        for account in config.account_list():
            clients[account.name] = build_client(
                config, connection_retry_seconds=retry, account=account
            )
        with open_ledger(config, read_only_if_needed=True) as ledger:
            return status(config, clients, ledger, utc_now())
    finally:
        for client in clients.values():
            client.close()


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd status``."""
    status = commands.add_parser(
        "status",
        parents=[config_option],
        help="one row per VM: state, snapshot age and expiry, last success, hold, next run",
        description="Show every VM's restore point as the API and the ledger see it now. "
        "One request lists the VMs, then up to 16 snapshot reads run at a time within "
        "api.requests_per_minute. When a daemon runs on the same state_dir, its /status "
        "answers instead and no API request is made.",
    )
    status.set_defaults(command="status")
