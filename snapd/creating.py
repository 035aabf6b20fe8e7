"""Sending a create, restore or delete exactly once.

A create overwrites the VM's only snapshot, so a POST is never retried blindly:

* 429 means "not executed": wait for the budget and send again;
* 409/422 (busy) and a refused connection mean "not executed": back off and send again
  until ``busy_timeout``;
* a timeout, reset or 5xx after sending is *ambiguous*: the VM's recent actions are read
  and an action of the right kind created since the attempt began is adopted; only when
  none exists is the request sent again;
* 401/403 fail at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from snapd.clock import Clock
from snapd.hostinger import (
    Action,
    AmbiguousRequestError,
    ApiError,
    AuthenticationError,
    BusyError,
    ConnectionFailedError,
    HostingerClient,
    RateLimitedError,
)
from snapd.waiting import CLOCK_SKEW

log = structlog.get_logger("snapd.creating")

# Action names as the API reports them, by the operation that started them.
ACTION_NAMES = {
    "snapshot": ("create_snapshot", "snapshot_create", "create snapshot"),
    "restore": ("restore_snapshot", "snapshot_restore", "restore snapshot"),
    "delete": ("delete_snapshot", "snapshot_delete", "delete snapshot"),
}
MAXIMUM_SENDS = 3  # ambiguous sends after which no action could be found to adopt
ACTION_PAGES_TO_SEARCH = 2


class SendFailed(Exception):
    """The operation could not be started; ``reason`` is a named reason for the ledger."""

    def __init__(self, reason: str, detail: str, correlation_id: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.correlation_id = correlation_id


@dataclass(frozen=True)
class Sent:
    action: Action
    adopted: bool  # found in the action list after an ambiguous answer


def _matches(action: Action, kind: str, since: datetime) -> bool:
    name = action.name.lower()
    if name not in ACTION_NAMES[kind]:
        return False
    return action.created_at is None or action.created_at >= since - CLOCK_SKEW


def find_started_action(
    client: HostingerClient, virtual_machine_id: int, kind: str, since: datetime
) -> Action | None:
    """The newest action of ``kind`` created since ``since``, from the first pages."""
    for page_number in range(1, ACTION_PAGES_TO_SEARCH + 1):
        page = client.list_actions(virtual_machine_id, page=page_number)
        for action in page.actions:
            if _matches(action, kind, since):
                return action
        if not page.has_more:
            break
    return None


def send_once(
    client: HostingerClient,
    clock: Clock,
    virtual_machine_id: int,
    kind: str,
    attempt_started_at: datetime,
    busy_deadline: datetime,
    should_stop: Callable[[], bool],
) -> Sent:
    """Start ``kind`` on the VM and return its action; raise ``SendFailed``."""
    operations = {
        "snapshot": client.create_snapshot,
        "restore": client.restore_snapshot,
        "delete": client.delete_snapshot,
    }
    send = operations[kind]
    ambiguous_sends = 0
    delay = 2.0
    while True:
        if should_stop():
            raise SendFailed("interrupted", "stopping before the request was sent")
        try:
            return Sent(send(virtual_machine_id), adopted=False)
        except AuthenticationError as error:
            raise SendFailed(
                "authentication_failed", f"the API refused the token: {error}", error.correlation_id
            ) from None
        except RateLimitedError as error:
            # Not executed: waiting is always safe; the budget is already paused.
            wait = error.retry_after if error.retry_after is not None else delay
            log.warning("send_rate_limited", vm=virtual_machine_id, kind=kind, wait_seconds=wait)
            _wait_or_fail(clock, busy_deadline, wait, "rate_limited", error)
            continue
        except (BusyError, ConnectionFailedError) as error:
            reason = "busy" if isinstance(error, BusyError) else "connection_failed"
            log.warning(
                "send_not_executed",
                vm=virtual_machine_id,
                kind=kind,
                reason=reason,
                error=str(error),
                correlation_id=error.correlation_id,
            )
            _wait_or_fail(clock, busy_deadline, delay, reason, error)
            delay = min(delay * 2, 60.0)
            continue
        except AmbiguousRequestError as error:
            log.warning(
                "send_ambiguous",
                vm=virtual_machine_id,
                kind=kind,
                error=str(error),
                correlation_id=error.correlation_id,
            )
            adopted = _adopt(client, clock, virtual_machine_id, kind, attempt_started_at)
            if adopted is not None:
                log.info("action_adopted", vm=virtual_machine_id, kind=kind, action_id=adopted.id)
                return Sent(adopted, adopted=True)
            ambiguous_sends += 1
            if ambiguous_sends >= MAXIMUM_SENDS:
                raise SendFailed("ambiguous", str(error), error.correlation_id) from None
            _wait_or_fail(clock, busy_deadline, delay, "ambiguous", error)
            delay = min(delay * 2, 60.0)
        except ApiError as error:
            raise SendFailed("api_error", str(error), error.correlation_id) from None


def _adopt(
    client: HostingerClient, clock: Clock, virtual_machine_id: int, kind: str, since: datetime
) -> Action | None:
    """Look for the action an ambiguous send may have started; a second look after a pause."""
    for pause in (0.0, 2.0):
        clock.sleep(pause)
        try:
            found = find_started_action(client, virtual_machine_id, kind, since)
        except ApiError as error:
            # Without the action list nothing proves the send failed: do not send again.
            raise SendFailed(
                "ambiguous",
                f"the request may have been executed and the action list is unreadable: {error}",
                error.correlation_id,
            ) from None
        if found is not None:
            return found
    return None


def _wait_or_fail(
    clock: Clock, deadline: datetime, seconds: float, reason: str, error: ApiError
) -> None:
    if clock.now() + timedelta(seconds=seconds) > deadline:
        raise SendFailed(
            "busy_timeout" if reason == "busy" else reason,
            f"gave up within busy_timeout: {error}",
            error.correlation_id,
        )
    clock.sleep(seconds)
