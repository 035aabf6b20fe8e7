"""One operation in flight per VM across hosts: the per-VM lock as a leased row of the
shared ledger, with a fencing token.

With ``backend: postgresql`` the daemon on one host and ``snapd once`` or ``snapd restore``
on another must exclude each other as processes on one host do with lock files. A lock is
a row of ``virtual_machine_locks``: who holds it, since when, until when (``expires_at``,
on the database's clock, so no host's clock matters) and a **token**, a new number from a
sequence at every acquisition. The holder renews every lease it holds in one statement
every third of the lease. A lease that ran out may be taken by anyone, and so may one
whose holder's liveness session has ended (:mod:`snapd.ledger.liveness`): a dead holder
blocks nobody.

Holding a lock costs no database session of its own: every statement borrows one from a
small :class:`~snapd.ledger.sessions.SessionPool`, and the process keeps one liveness
session, so 200 VMs in flight use a handful of sessions.

A lease can be lost while its holder still runs (a database failover, a network drop, a
process stalled longer than the lease). That is why the lock alone never licenses a
request: the ledger writes every pending row in a transaction that finds the VM's lock
row still carrying the writer's token (:meth:`LeasedVirtualMachineLocks.token_of`), and
the request is sent only after that commit. A writer whose lease was taken writes nothing
and sends nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import structlog

from snapd.clock import Clock, SystemClock
from snapd.ledger.advisory import process_identity
from snapd.ledger.liveness import HOLDER_ALIVE, ProcessLiveness
from snapd.ledger.locks import (
    LockUnavailableError,
    VirtualMachineBusyError,
    VirtualMachineLocks,
)
from snapd.ledger.records import LedgerError
from snapd.ledger.sessions import SessionPool
from snapd.ledger.vocabulary import OperationKind

log = structlog.get_logger("snapd.locks")

#: How long a lock lives without renewal; the holder renews every third of it.
LEASE_SECONDS = 30.0

_ACQUIRE = f"""
INSERT INTO virtual_machine_locks AS held
    (virtual_machine_id, token, holder_key, holder, purpose, since, expires_at)
VALUES (%s, nextval('virtual_machine_lock_tokens'), %s, %s, %s, %s,
    clock_timestamp() + make_interval(secs => %s))
ON CONFLICT (virtual_machine_id) DO UPDATE SET token = excluded.token,
    holder_key = excluded.holder_key, holder = excluded.holder, purpose = excluded.purpose,
    since = excluded.since, expires_at = excluded.expires_at
WHERE held.expires_at < clock_timestamp() OR NOT EXISTS ({HOLDER_ALIVE})
RETURNING token
"""
_HOLDER = "SELECT holder, purpose, since FROM virtual_machine_locks WHERE virtual_machine_id = %s"
_RENEW = """
UPDATE virtual_machine_locks SET holder_key = %s,
    expires_at = clock_timestamp() + make_interval(secs => %s)
WHERE token = ANY(%s) RETURNING token
"""
_RELEASE = "DELETE FROM virtual_machine_locks WHERE virtual_machine_id = %s AND token = %s"


class LeasedVirtualMachineLocks(VirtualMachineLocks):
    """Per-VM exclusive locks in the shared ledger's database; same contract as the files.

    A database that cannot be reached, or no free session in the pool, raises
    ``LockUnavailableError`` (an ``OSError``, as from an unopenable lock file) from
    :meth:`hold`: the operation does not run.
    """

    def __init__(
        self,
        pool: SessionPool,
        liveness: ProcessLiveness,
        lease_seconds: float = LEASE_SECONDS,
        *,
        clock: Clock | None = None,
    ) -> None:
        """``clock`` (default: the system's) paces the renewal of the leases held."""
        self._pool = pool
        self._clock = clock or SystemClock()
        self._liveness = liveness
        self._lease = lease_seconds
        self._identity = process_identity()
        self._guard = threading.Lock()
        self._held: dict[int, int] = {}  # VM id -> token
        self._lost: set[int] = set()  # tokens whose renewal found them taken
        self._stopped = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def lease_seconds(self) -> float:
        return self._lease

    def token_of(self, virtual_machine_id: int) -> int | None:
        """The fencing token of the VM's lock while this process holds it, else None."""
        with self._guard:
            return self._held.get(virtual_machine_id)

    @contextmanager
    def hold(
        self, virtual_machine_id: int, purpose: OperationKind, now: datetime
    ) -> Iterator[None]:
        since = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        token = self._acquire(virtual_machine_id, str(purpose), since)
        try:
            yield
        finally:
            self._release(virtual_machine_id, token)

    def close(self) -> None:
        """Stop renewing and close the sessions; held leases then run out. Idempotent."""
        self._stopped.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5.0)
        self._pool.close()
        self._liveness.close()

    def renew(self) -> None:
        """Extend every lease this process holds; log the ones found taken by another.

        A lease that ran out but was taken by nobody is extended: its token is still the
        newest, so it is still exclusive. Raises ``LedgerError`` (the next round retries).
        """
        with self._guard:
            tokens = dict(self._held)
        if not tokens:
            return
        key = self._liveness.key(check=True)  # a session that ended is opened again
        with self._pool.session() as connection:
            rows = connection.execute(_RENEW, (key, self._lease, list(tokens.values()))).fetchall()
        renewed = {int(row[0]) for row in rows}
        for virtual_machine_id, token in tokens.items():
            with self._guard:
                if token in renewed or token in self._lost or token not in self._held.values():
                    continue
                self._lost.add(token)
            log.warning(
                "virtual_machine_lock_lost",
                vm=virtual_machine_id,
                token=token,
                detail="the lease ran out and another holder took it; nothing more is sent",
            )

    def _acquire(self, virtual_machine_id: int, purpose: str, since: str) -> int:
        try:
            values = (
                virtual_machine_id, self._liveness.key(), self._identity, purpose, since,
                self._lease,
            )  # fmt: skip
            with self._pool.session() as connection:
                row = connection.execute(_ACQUIRE, values).fetchone()
                if row is None:
                    holder = connection.execute(_HOLDER, (virtual_machine_id,)).fetchone()
                    raise _busy(virtual_machine_id, holder)
        except LedgerError as error:
            message = f"virtual machine {virtual_machine_id}'s lock: {error}"
            raise LockUnavailableError(message) from None
        token = int(row[0])
        with self._guard:
            self._held[virtual_machine_id] = token
        self._start_renewing()
        return token

    def _release(self, virtual_machine_id: int, token: int) -> None:
        with self._guard:
            self._held.pop(virtual_machine_id, None)
            self._lost.discard(token)
        try:
            with self._pool.session() as connection:
                connection.execute(_RELEASE, (virtual_machine_id, token))
        except LedgerError as error:
            # The lease runs out by itself; until then the VM stays busy for others.
            log.warning(
                "virtual_machine_lock_not_released", vm=virtual_machine_id, error=str(error)
            )

    def _start_renewing(self) -> None:
        with self._guard:
            if self._renewer is not None or self._stopped.is_set():
                return
            self._renewer = threading.Thread(
                target=self._renew_loop, name="lock-leases", daemon=True
            )
        self._renewer.start()

    def _renew_loop(self) -> None:
        failing = False
        while not self._clock.wait(self._stopped, self._lease / 3):
            try:
                self.renew()
            except LedgerError as error:
                if not failing:
                    log.warning("virtual_machine_locks_not_renewed", error=str(error))
                failing = True
            else:
                failing = False


def _busy(virtual_machine_id: int, holder: tuple[object, ...] | None) -> VirtualMachineBusyError:
    """The refusal, naming the holder as it wrote itself down (host:pid, purpose, since)."""
    if holder is None:
        return VirtualMachineBusyError(virtual_machine_id)
    host, _, pid = str(holder[0]).rpartition(":")
    return VirtualMachineBusyError(
        virtual_machine_id,
        pid=int(pid) if pid.isdigit() else None,
        purpose=f"{holder[1]} on {host}",
        since=str(holder[2]),
    )
