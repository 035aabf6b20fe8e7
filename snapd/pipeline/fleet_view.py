"""The fleet as one ``GET …/virtual-machines`` list call shows it, shared by a pass.

The pre-flight needs each VM's ``state`` and ``actions_lock``. Reading them one VM at a
time costs a request per VM; the list call answers for the whole fleet at once. So the
VMs whose pre-flight runs within :data:`FRESH_FOR` of a list call take their state from
it, and callers that arrive while a list call is in flight wait for its answer instead of
sending their own (single flight): a pass over N VMs makes one list call, not N reads.

A listing answers for each VM once. A second look at the same VM (a slot run again, a
look after the VM was busy) reads that VM alone with ``GET …/virtual-machines/{id}``,
and so does a VM missing from the list: what the guards see is never older than the
window, and never what the VM looked like before snapd's own last look.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from snapd.clock import Clock
from snapd.hostinger import ApiError, HostingerClient, VirtualMachine

#: How long a list answer stands for the VMs' state and lock.
FRESH_FOR = timedelta(seconds=5)


@dataclass
class _Listing:
    """One list answer: when its call started, and the VMs not yet handed out."""

    started: datetime
    unread: dict[int, VirtualMachine] = field(default_factory=dict)


@dataclass
class _Flight:
    """A list call in progress; the waiting callers read its result when ``done`` is set."""

    done: threading.Event = field(default_factory=threading.Event)
    listing: _Listing | None = None
    error: ApiError | None = None


class FleetView:
    """VM state and lock from a shared, recent list call. Thread-safe.

    Args:
        client: the API client (its request budget paces the list call as any other).
        clock: its ``now`` dates list answers; a list is fresh for ``fresh_for``.
        fresh_for: the window during which one list call serves every VM's first look.
    """

    def __init__(
        self, client: HostingerClient, clock: Clock, *, fresh_for: timedelta = FRESH_FOR
    ) -> None:
        self._client = client
        self._clock = clock
        self._fresh_for = fresh_for
        self._lock = threading.Lock()
        self._listing: _Listing | None = None
        self._flight: _Flight | None = None

    def machine(self, virtual_machine_id: int) -> VirtualMachine:
        """The VM as a list call at most ``fresh_for`` old shows it, when that list has not
        already answered for it; otherwise the VM read alone. ``ApiError`` propagates
        (a failed list call's error reaches every caller that waited for it)."""
        listing = self._fresh_listing()
        machine = None
        if listing is not None:
            with self._lock:
                machine = listing.unread.pop(virtual_machine_id, None)
        if machine is not None:
            return machine
        return self._client.get_virtual_machine(virtual_machine_id)

    def machine_now(self, virtual_machine_id: int) -> VirtualMachine:
        """The VM read alone, right now (a second look must not see an older answer)."""
        return self._client.get_virtual_machine(virtual_machine_id)

    def _fresh_listing(self) -> _Listing | None:
        """A listing no older than the window: the current one, the one in flight, or a
        new one fetched by this caller; ``None`` when the call in flight ended without an
        answer or an ``ApiError`` (the caller then reads its VM alone)."""
        with self._lock:
            listing = self._listing
            now = self._clock.now()
            if listing is not None and now - listing.started <= self._fresh_for:
                return listing
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.listing
        try:
            machines = self._client.list_virtual_machines()
            flight.listing = _Listing(now, {machine.id: machine for machine in machines})
        except ApiError as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                if flight.listing is not None:
                    self._listing = flight.listing
                self._flight = None
            flight.done.set()
        return flight.listing
