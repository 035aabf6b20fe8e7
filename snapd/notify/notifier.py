"""Who is told what: turns slot starts, outcomes and watched snapshots into deliveries.

A ``Notifier`` is an ``OutcomeObserver`` (it joins the observer fan-out of ``snapd run``
and is the observer of ``snapd once``), plus ``slot_started`` for the start ping and
``snapshot_watched`` for the expiry warnings. It reads each VM's current policy through
``policy``, so a reload changes the targets without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from snapd.backoff import doubling
from snapd.clock import Clock, SystemClock
from snapd.config import Config, VirtualMachinePolicy
from snapd.config.notify import expand_url
from snapd.config.rpo import recovery_point_objective
from snapd.notify.delivery import ATTEMPTS, BACKOFF_SECONDS, Delivery, DeliveryWorker
from snapd.notify.messages import (
    Notification,
    from_outcome,
    ping_body,
    ping_suffix,
    webhook_body,
)
from snapd.pipeline.outcome import Outcome, SnapshotState, StateOperation

#: ``expiring`` is sent once per snapshot when it has less than this left (as the alert).
EXPIRING_WITHIN = timedelta(hours=12)
#: ``hold_expiring``: a held VM's snapshot has less than this left (as the alert).
HOLD_EXPIRING_WITHIN = timedelta(days=2)


class Notifier:
    """Builds each VM's deliveries and hands them to the worker; never blocks.

    ``clock`` (default: the real one) dates the pings and the expiry warnings.
    """

    def __init__(
        self,
        policy: Callable[[int], VirtualMachinePolicy | None],
        worker: DeliveryWorker,
        clock: Clock | None = None,
    ) -> None:
        self.policy = policy
        self.worker = worker
        self.clock = clock or SystemClock()
        self._warned: dict[tuple[int, str], datetime] = {}
        self._lock = threading.Lock()

    # -- the pipeline --------------------------------------------------------------------

    def slot_started(
        self, policy: VirtualMachinePolicy, slot: datetime | None, dry_run: bool
    ) -> None:
        """A slot begins: the ``/start`` ping (not for a dry run)."""
        notification = Notification("start", policy.id, policy.name, slot=slot, dry_run=dry_run)
        self.notify(policy, notification)

    def outcome(self, outcome: Outcome) -> None:
        policy = self.policy(outcome.virtual_machine_id)
        if policy is None:
            return
        notification = from_outcome(outcome, policy.name)
        if notification is not None:
            self.notify(policy, notification)

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        return None

    def api_unauthorized(self) -> None:
        return None

    def state_error(self, operation: StateOperation) -> None:
        # The slot's failed outcome, which follows, is what gets notified.
        return None

    def snapshot_watched(
        self, policy: VirtualMachinePolicy, snapshot: SnapshotState | None, held: bool
    ) -> None:
        """Warn once per snapshot that expires soon (``expiring``, ``hold_expiring``)."""
        if snapshot is None or snapshot.expires_at is None:
            return
        left = snapshot.expires_at - self.clock.now()
        for event, within, applies in (
            ("expiring", EXPIRING_WITHIN, True),
            ("hold_expiring", HOLD_EXPIRING_WITHIN, held),
        ):
            if not applies or left >= within:
                continue
            with self._lock:
                if self._warned.get((policy.id, event)) == snapshot.expires_at:
                    continue
                self._warned[(policy.id, event)] = snapshot.expires_at
            detail = f"the snapshot expires in {int(left.total_seconds() // 3600)}h"
            self.notify(
                policy,
                Notification(event, policy.id, policy.name, detail=detail, snapshot=snapshot),
            )

    # -- deliveries ----------------------------------------------------------------------

    def notify(self, policy: VirtualMachinePolicy, notification: Notification) -> None:
        """Queue the ping and the webhooks that want ``notification``."""
        for delivery in deliveries(policy, notification, self.clock.now()):
            self.worker.submit(delivery)

    def close(self, timeout: float) -> None:
        self.worker.close(timeout)


def drain_seconds(config: Config) -> float:
    """How long a one-shot command waits for its notifications before it exits:
    every attempt of the slowest target, with the backoff between them, at most a minute."""
    timeouts = [0.0]
    for policy in config.vms:
        settings = policy.notify
        if settings is not None and settings.ping is not None:
            timeouts.append(settings.ping.timeout.total_seconds())
        if settings is not None:
            timeouts.extend(hook.timeout.total_seconds() for hook in settings.webhooks)
    slowest = max(timeouts)
    backoff = sum(doubling(BACKOFF_SECONDS, attempt) for attempt in range(1, ATTEMPTS))
    return min(60.0, slowest * ATTEMPTS + backoff)


def deliveries(
    policy: VirtualMachinePolicy, notification: Notification, now: datetime
) -> list[Delivery]:
    """Every delivery ``notification`` makes under ``policy``'s ``notify`` settings."""
    settings = policy.notify
    if settings is None:
        return []
    found = []
    if settings.ping is not None:
        suffix = ping_suffix(notification, recovery_point_objective(policy), now)
        if suffix is not None:
            url = _with_suffix(expand_url(settings.ping.url, policy.id, policy.name), suffix)
            found.append(
                Delivery(
                    kind="ping",
                    event=notification.event,
                    virtual_machine_id=policy.id,
                    url=url,
                    body=ping_body(notification).encode(),
                    content_type="text/plain; charset=utf-8",
                    timeout=settings.ping.timeout.total_seconds(),
                    target=settings.ping.url,
                )
            )
    for hook in settings.webhooks:
        if notification.event != "test" and notification.event not in hook.on:
            continue
        found.append(
            Delivery(
                kind="webhook",
                event=notification.event,
                virtual_machine_id=policy.id,
                url=expand_url(hook.url, policy.id, policy.name),
                body=webhook_body(notification, hook.format),
                content_type="application/json",
                timeout=hook.timeout.total_seconds(),
                target=hook.url,
            )
        )
    return found


def _with_suffix(url: str, suffix: str) -> str:
    """``https://host/uuid`` + ``/fail`` → ``https://host/uuid/fail`` (a query stays last)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))
