"""The Hostinger VPS API client: one method per operation snapd uses.

:class:`HostingerClient` turns operations into calls on a :class:`Transport` and answers
into the frozen records of :mod:`snapd.hostinger.models`. Transport, pacing, retries and
error mapping are described in :mod:`snapd.hostinger.transport`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from snapd import __version__
from snapd.clock import Clock
from snapd.config.model import DEFAULT_BASE_URL
from snapd.hostinger import bodies
from snapd.hostinger.answers import Answer
from snapd.hostinger.budget import RequestBudget
from snapd.hostinger.connections import ConnectionSource
from snapd.hostinger.endpoints import ENDPOINTS, endpoint_path
from snapd.hostinger.errors import (
    AmbiguousRequestError,
    FailureReason,
    InvalidResponseError,
    NotFoundError,
)
from snapd.hostinger.models import Action, ActionPage, Backup, Snapshot, VirtualMachine
from snapd.hostinger.observer import ApiObserver, NullObserver
from snapd.hostinger.transport import Transport

__all__ = ["DEFAULT_BASE_URL", "HostingerClient"]


# Stops a server that always claims more pages from looping the client forever.
_MAX_PAGES = 100


class HostingerClient:
    """Calls the Hostinger VPS API. Thread-safe; share one instance per process.

    Args:
        base_url: ``https://`` URL, or ``http://`` to a loopback host (the fake API).
        token: API bearer token. It appears in no error, log line or ``repr``.
        timeout: total seconds one HTTP attempt may take (sending, waiting, reading the
            whole answer); the connect timeout is at most 10 s. A read that runs out of
            time is retried; a create, delete or restore raises ``AmbiguousRequestError``.
        budget: the request budget of the account (built by the composition root: one per
            token, shared by every caller of that account).
        observer: receives every attempt and retry (metrics); none when omitted.
        user_agent: defaults to ``snapd/<version>``.
        retry_total_seconds: reads are retried until this much time has passed.
        backoff_factor: exponential backoff base between read retries, seconds.
        connection_retry_seconds: a read whose connection cannot be made (refused,
            unreachable) is retried only this long; default ``retry_total_seconds``.
        clock: the local clock, whose ``now`` is compared with ``Retry-After`` dates and
            the API's ``Date`` (the server clock offset); default: the real one. Pass the
            clock whose ``now`` is later given to :meth:`server_now` (a test's manual
            clock, for instance). The waits between read retries go on the budget's
            clock (:meth:`RequestBudget.wait_before_retry`), so closing the budget ends
            them.
        connections: where HTTP attempts get their connection (default: real sockets);
            see :class:`~snapd.hostinger.connections.ConnectionSource`.

    Raises:
        ValueError: an unusable base URL (plain http to a non-loopback host included),
            token or timeout.

    Every method raises :class:`~snapd.hostinger.errors.ApiError` subclasses only;
    see :mod:`snapd.hostinger.errors` for what each one means.
    """

    def __init__(  # noqa: PLR0913 - optional collaborators and settings, each with a default
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str = "",
        timeout: float = 30.0,
        *,
        budget: RequestBudget,
        observer: ApiObserver | None = None,
        user_agent: str | None = None,
        retry_total_seconds: float = 120.0,
        backoff_factor: float = 0.5,
        connection_retry_seconds: float | None = None,
        clock: Clock | None = None,
        connections: ConnectionSource | None = None,
    ) -> None:
        self._transport = Transport(
            base_url=base_url,
            token=token,
            timeout=timeout,
            budget=budget,
            observer=observer if observer is not None else NullObserver(),
            user_agent=user_agent or f"snapd/{__version__}",
            retry_total_seconds=retry_total_seconds,
            backoff_factor=backoff_factor,
            connection_retry_seconds=connection_retry_seconds,
            clock=clock,
            connections=connections,
        )

    @property
    def base_url(self) -> str:
        """The API base URL, without a trailing slash."""
        return self._transport.base_url

    def server_clock_offset(self) -> float | None:
        """Seconds the API server's clock is ahead of this host's (negative: behind).

        Read from the ``Date`` header of the latest answer that had one, success or
        error; ``None`` before any. ``Date`` has one-second resolution (truncated), so
        the value is accurate to about a second plus the answer's network delay.
        """
        return self._transport.server_clock.offset()

    def server_now(self, local_now: datetime) -> datetime:
        """``local_now`` as the API server's clock would show it.

        Use it to compare a local instant with timestamps the server wrote (an action's
        ``created_at``). Returns ``local_now`` unchanged while no ``Date`` header has been
        seen; allow a second or two of tolerance either way (see
        :meth:`server_clock_offset`).
        """
        return self._transport.server_clock.server_now(local_now)

    def list_virtual_machines(self) -> list[VirtualMachine]:
        """Every VM the token can see (the API does not paginate this list)."""
        answer = self._call("GET", "list_vms")
        items = bodies.items(answer.body, "list_vms")
        return [bodies.parse(VirtualMachine.from_json, item, "list_vms") for item in items]

    def get_virtual_machine(self, virtual_machine_id: int) -> VirtualMachine:
        """One VM, with its ``state`` and ``actions_lock``. Raises NotFoundError."""
        answer = self._call("GET", "get_vm", virtualMachineId=virtual_machine_id)
        return bodies.parse(VirtualMachine.from_json, bodies.resource(answer.body), "get_vm")

    def get_snapshot(self, virtual_machine_id: int) -> Snapshot | None:
        """The VM's snapshot, or ``None`` when it has none.

        The API does not document the "no snapshot" answer, so 404, a ``null`` body,
        ``{}``, an object of nulls and an object with a null ``id`` all give ``None``. A
        404 for a VM that does not exist is indistinguishable and also gives ``None``.
        Any other answer that is not a snapshot (a 200 error body, one that cannot be
        decoded) raises :class:`UnreadableSnapshotError`, never ``None``.
        """
        try:
            answer = self._call("GET", "get_snapshot", virtualMachineId=virtual_machine_id)
        except NotFoundError:
            return None
        except InvalidResponseError as error:
            raise bodies.unreadable_snapshot(
                error.message, error.status, error.correlation_id
            ) from None
        try:
            return Snapshot.from_json(bodies.resource(answer.body))
        except Exception as problem:
            why = bodies.describe(problem)
            raise bodies.unreadable_snapshot(why, answer.status, answer.correlation_id) from None

    def create_snapshot(self, virtual_machine_id: int) -> Action:
        """Start a snapshot, which replaces the VM's current one. Sent exactly once.

        Raises:
            BusyError: the VM is busy (409/422).
            AmbiguousRequestError: no usable answer; the action may exist.
        """
        return self._action("POST", "create_snapshot", virtual_machine_id)

    def delete_snapshot(self, virtual_machine_id: int) -> Action:
        """Start deleting the VM's snapshot. Sent exactly once; errors as for create."""
        return self._action("DELETE", "delete_snapshot", virtual_machine_id)

    def restore_snapshot(self, virtual_machine_id: int) -> Action:
        """Start restoring the VM from its snapshot. Sent exactly once; errors as for create."""
        return self._action("POST", "restore_snapshot", virtual_machine_id)

    def get_action(self, virtual_machine_id: int, action_id: int) -> Action:
        """One action's current state. Raises NotFoundError for an unknown id."""
        answer = self._call(
            "GET", "get_action", virtualMachineId=virtual_machine_id, actionId=action_id
        )
        return bodies.parse(Action.from_json, bodies.resource(answer.body), "get_action")

    def list_actions(self, virtual_machine_id: int, page: int = 1) -> ActionPage:
        """One page (numbered from 1) of the VM's actions, as the API orders them."""
        answer = self._call(
            "GET", "list_actions", {"page": page}, virtualMachineId=virtual_machine_id
        )
        items = bodies.items(answer.body, "list_actions")
        actions = tuple(bodies.parse(Action.from_json, item, "list_actions") for item in items)
        current_page, per_page, total = bodies.page_meta(answer.body, page, len(actions))
        return ActionPage(
            actions=actions, current_page=current_page, per_page=per_page, total=total
        )

    def list_backups(self, virtual_machine_id: int) -> list[Backup]:
        """All of the VM's backups, following every page."""
        backups: list[Backup] = []
        for page in range(1, _MAX_PAGES + 1):
            answer = self._call(
                "GET", "list_backups", {"page": page}, virtualMachineId=virtual_machine_id
            )
            items = bodies.items(answer.body, "list_backups")
            backups.extend(bodies.parse(Backup.from_json, item, "list_backups") for item in items)
            current_page, per_page, total = bodies.page_meta(answer.body, page, len(items))
            if not items or current_page * per_page >= total:
                break
        return backups

    def close(self) -> None:
        """Release pooled connections; the client must not be used afterwards."""
        self._transport.close()

    def __enter__(self) -> HostingerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HostingerClient(base_url={self.base_url!r})"

    def _call(
        self, method: str, name: str, params: Mapping[str, int] | None = None, **ids: int
    ) -> Answer:
        template = ENDPOINTS[name]
        return self._transport.request(method, template, endpoint_path(template, **ids), params)

    def _action(self, method: str, name: str, virtual_machine_id: int) -> Action:
        answer = self._call(method, name, virtualMachineId=virtual_machine_id)
        try:
            return Action.from_json(bodies.resource(answer.body))
        except Exception as problem:
            # The server accepted the request; only its description of the action is
            # unreadable, so the action may well exist.
            raise AmbiguousRequestError(
                f"request accepted but the answer is not an action: {bodies.describe(problem)}",
                endpoint=ENDPOINTS[name],
                method=method,
                status=answer.status,
                correlation_id=answer.correlation_id,
                reason=FailureReason.RESPONSE,
            ) from None
