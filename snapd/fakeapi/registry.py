"""Every endpoint the fake serves, declared once: its name, method, path and handler.

The router (``routes``), the fault names (``faults.ENDPOINTS``) and the dispatcher all read
this table, so a new endpoint is one row here and one method on the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from snapd.fakeapi.model import Timeline

if TYPE_CHECKING:
    from snapd.fakeapi.state import ApiState

Answer = tuple[int, Any]  # status and JSON value


@dataclass(frozen=True)
class Call:
    """One routed call, as the handlers see it."""

    state: ApiState
    virtual_machine_id: int
    item_id: int
    page: int
    choose: Callable[[], Timeline | None]  # the timeline of an action this call creates
    no_snapshot: Callable[[], Answer]  # how "this VM has no snapshot" is answered


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: ``path`` follows the API prefix; ``(\\d+)`` groups are the ids."""

    name: str
    method: str
    path: str
    handle: Callable[[Call], Answer]


def _get_snapshot(call: Call) -> Answer:
    snapshot = call.state.get_snapshot(call.virtual_machine_id)
    return (200, snapshot) if snapshot is not None else call.no_snapshot()


_VM = "/virtual-machines/(\\d+)"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "list_vms", "GET", "/virtual-machines", lambda c: (200, c.state.list_virtual_machines())
    ),
    Endpoint(
        "get_vm", "GET", _VM, lambda c: (200, c.state.get_virtual_machine(c.virtual_machine_id))
    ),
    Endpoint("get_snapshot", "GET", _VM + "/snapshot", _get_snapshot),
    Endpoint(
        "create_snapshot",
        "POST",
        _VM + "/snapshot",
        lambda c: (200, c.state.create_snapshot(c.virtual_machine_id, c.choose)),
    ),
    Endpoint(
        "delete_snapshot",
        "DELETE",
        _VM + "/snapshot",
        lambda c: (200, c.state.delete_snapshot(c.virtual_machine_id, c.choose)),
    ),
    Endpoint(
        "restore_snapshot",
        "POST",
        _VM + "/snapshot/restore",
        lambda c: (200, c.state.restore_snapshot(c.virtual_machine_id, c.choose)),
    ),
    Endpoint(
        "list_actions",
        "GET",
        _VM + "/actions",
        lambda c: (200, c.state.list_actions(c.virtual_machine_id, c.page)),
    ),
    Endpoint(
        "get_action",
        "GET",
        _VM + "/actions/(\\d+)",
        lambda c: (200, c.state.get_action(c.virtual_machine_id, c.item_id)),
    ),
    Endpoint(
        "list_backups",
        "GET",
        _VM + "/backups",
        lambda c: (200, c.state.list_backups(c.virtual_machine_id, c.page)),
    ),
    Endpoint(
        "restore_backup",
        "POST",
        _VM + "/backups/(\\d+)/restore",
        lambda c: (200, c.state.restore_backup(c.virtual_machine_id, c.item_id, c.choose)),
    ),
)

BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
