"""What the simulator needs of the embedded fake API, as a protocol.

The command line builds the fake (only it may load ``snapd.fakeapi``) and hands it in;
the simulator speaks to it through the API like the daemon (its client's connections
answer in-process, see ``inprocess``), and through these controls to make the world
misbehave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from snapd.simulate.inprocess import DirectAnswer


class Request(Protocol):
    """One request the fake received (``snapd.fakeapi``'s ``RecordedRequest``)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def at(self) -> datetime: ...


class FakeApi(Protocol):
    """The controls of ``snapd.fakeapi.FakeHostinger`` the simulator uses."""

    token: str

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> DirectAnswer:
        """Answer one request as the fake's HTTP server would (``inprocess`` sends it)."""

    @property
    def requests(self) -> Sequence[Request]: ...

    def clear_requests(self) -> None: ...

    def set_vm_state(self, vm_id: int, state: str) -> None: ...

    def set_snapshot(self, vm_id: int, created_at: datetime) -> Any: ...

    def snapshot_of(self, vm_id: int) -> Any: ...

    def start_outage(self) -> None: ...

    def end_outage(self) -> None: ...

    def start_storm(self, status: int, share: float) -> None:
        """Answer ``status`` (without executing) to a ``share`` of all calls."""

    def end_storm(self, status: int, share: float) -> None: ...

    def start_failed_actions(self, share: float) -> None:
        """A ``share`` of the snapshot actions created from now on end in ``error``."""

    def end_failed_actions(self, share: float) -> None: ...

    #: How long an action created from now on takes, in seconds.
    action_seconds: float
    #: Seconds the server's clock runs ahead of the simulation's (negative: behind).
    clock_skew: float
