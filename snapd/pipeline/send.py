"""Sending a create, restore or delete at most once.

A create overwrites the VM's only snapshot, so a request is sent again only when the API
said it was not executed:

* 429 means "not executed": wait (within ``busy_timeout``) and send again;
* 409/422 (busy) and a refused connection mean "not executed": back off and send again
  until ``busy_timeout``;
* before each re-send a *re-check* (:mod:`snapd.pipeline.recheck`) looks at the VM again
  with fresh reads and decides again: a hold, a snapshot taken by hand meanwhile or a
  stopped VM ends the attempt there (:class:`SendRefused`), nothing more is sent;
* a timeout, reset, 5xx or unreadable answer after sending is *ambiguous*: the request
  may have been executed, so it is never sent again for this attempt. ``send_once``
  returns :class:`Ambiguous` and the caller resolves it by observation only
  (:mod:`snapd.pipeline.resolve`);
* 401/403 fail at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from snapd.backoff import Backoff
from snapd.clock import Clock, sleep_before
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
from snapd.ledger import OperationKind
from snapd.pipeline.outcome import AnyReason, OutcomeReason, Result, SnapshotState

log = structlog.get_logger("snapd.creating")


class SendFailed(Exception):
    """The request was certainly not executed; ``reason`` is a named reason for the ledger."""

    def __init__(
        self, reason: OutcomeReason, detail: str, correlation_id: str | None = None
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.correlation_id = correlation_id


@dataclass(frozen=True)
class Proceed:
    """A re-check's answer: the guards still hold; send again, over ``snapshot``."""

    snapshot: SnapshotState | None


@dataclass(frozen=True)
class NotYet:
    """A re-check's answer: the VM is still busy (or unreadable for now); look again later."""

    detail: str


@dataclass(frozen=True)
class Refusal:
    """A re-check's answer: do not send again; the attempt ends as ``result``.

    ``snapshot`` is the snapshot the look saw, when it read one (else the intent's is
    recorded); ``settles`` is False when the VM's pending row is no longer this intent
    (another writer owns it, so it must stay).
    """

    result: Result
    reason: AnyReason
    detail: str
    snapshot: SnapshotState | None = None
    correlation_id: str | None = None
    settles: bool = True


Recheck = Callable[[], Proceed | NotYet | Refusal]


class SendRefused(Exception):
    """A re-check refused a re-send; nothing more was sent. ``refusal`` says how it ends."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


@dataclass(frozen=True)
class Sent:
    """The API accepted the request and named its action."""

    action: Action


@dataclass(frozen=True)
class Ambiguous:
    """The request was sent and may have been executed; nobody knows yet."""

    detail: str
    correlation_id: str | None


def send_once(
    client: HostingerClient,
    clock: Clock,
    virtual_machine_id: int,
    kind: OperationKind,
    busy_deadline: datetime,
    should_stop: Callable[[], bool],
    recheck: Recheck | None = None,
) -> Sent | Ambiguous:
    """Start ``kind`` on the VM: its action, or :class:`Ambiguous`; raise ``SendFailed``.

    ``SendFailed`` always means "not executed" (a refused token, a busy VM or a rate
    limit past ``busy_deadline``, a stop before sending, a 4xx refusal). After each
    not-executed answer, ``recheck`` (when given) is asked before the request goes again;
    :class:`SendRefused` when it refuses.
    """
    send = _sender(client, kind)
    backoff = Backoff()
    while True:
        if should_stop():
            raise SendFailed(OutcomeReason.INTERRUPTED, "stopping before the request was sent")
        try:
            return Sent(send(virtual_machine_id))
        except AuthenticationError as error:
            detail = f"the API refused the token: {error}"
            refused = SendFailed(OutcomeReason.AUTHENTICATION_FAILED, detail, error.correlation_id)
            raise refused from None
        except RateLimitedError as error:
            # Not executed: waiting is always safe; the budget is already paused.
            pause = error.retry_after if error.retry_after is not None else backoff.next()
            log.warning("send_rate_limited", vm=virtual_machine_id, kind=kind, wait_seconds=pause)
            pacing = _Pacing(clock, busy_deadline, backoff, OutcomeReason.RATE_LIMITED, error)
        except (BusyError, ConnectionFailedError) as error:
            reason = _not_executed(virtual_machine_id, kind, error)
            pause, pacing = backoff.next(), _Pacing(clock, busy_deadline, backoff, reason, error)
        except AmbiguousRequestError as error:
            log.warning("send_ambiguous", vm=virtual_machine_id, kind=kind, error=str(error),
                        correlation_id=error.correlation_id)  # fmt: skip
            return Ambiguous(str(error), error.correlation_id)
        except ApiError as error:
            raise SendFailed(OutcomeReason.API_ERROR, str(error), error.correlation_id) from None
        _wait_or_fail(clock, busy_deadline, pause, pacing.reason, pacing.error)
        if recheck is not None:
            _until_resend(recheck, pacing, should_stop, virtual_machine_id, kind)


@dataclass(frozen=True)
class _Pacing:
    """How a look-again loop waits, and what it fails with once ``deadline`` passes."""

    clock: Clock
    deadline: datetime
    backoff: Backoff
    reason: OutcomeReason
    error: ApiError


def _until_resend(
    recheck: Recheck,
    pacing: _Pacing,
    should_stop: Callable[[], bool],
    virtual_machine_id: int,
    kind: OperationKind,
) -> None:
    """Ask ``recheck`` until it says send again; raise ``SendRefused`` or ``SendFailed``.

    The request was not executed, and everything the guards rest on may have changed
    since they were checked (a hold, a snapshot by hand), so nothing is sent on the
    strength of the first look.
    """
    while True:
        if should_stop():
            raise SendFailed(OutcomeReason.INTERRUPTED, "stopping before the request was sent")
        answer = recheck()
        if isinstance(answer, Proceed):
            log.info("send_again", vm=virtual_machine_id, kind=kind)
            return
        if isinstance(answer, Refusal):
            log.info("send_refused", vm=virtual_machine_id, kind=kind, reason=answer.reason,
                     detail=answer.detail)  # fmt: skip
            raise SendRefused(answer)
        log.info("send_deferred", vm=virtual_machine_id, kind=kind, detail=answer.detail)
        _wait_or_fail(pacing.clock, pacing.deadline, pacing.backoff.next(), pacing.reason,
                      pacing.error)  # fmt: skip


def _sender(client: HostingerClient, kind: OperationKind) -> Callable[[int], Action]:
    """The client call that starts ``kind``."""
    operations = {
        OperationKind.SNAPSHOT: client.create_snapshot,
        OperationKind.RESTORE: client.restore_snapshot,
        OperationKind.DELETE: client.delete_snapshot,
    }
    return operations[kind]


def _not_executed(virtual_machine_id: int, kind: OperationKind, error: ApiError) -> OutcomeReason:
    """Log a send that was certainly not executed; its reason (busy or no connection)."""
    reason = OutcomeReason.BUSY if isinstance(error, BusyError) else OutcomeReason.CONNECTION_FAILED
    log.warning(
        "send_not_executed",
        vm=virtual_machine_id,
        kind=kind,
        reason=reason,
        error=str(error),
        correlation_id=error.correlation_id,
    )
    return reason


def _wait_or_fail(
    clock: Clock, deadline: datetime, seconds: float, reason: OutcomeReason, error: ApiError
) -> None:
    if not sleep_before(clock, deadline, seconds):
        raise SendFailed(
            OutcomeReason.BUSY_TIMEOUT if reason == OutcomeReason.BUSY else reason,
            f"gave up within busy_timeout: {error}",
            error.correlation_id,
        )
