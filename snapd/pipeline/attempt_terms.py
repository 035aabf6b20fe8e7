"""The terms an attempt is described in: what it is about, and who waits for its action.

:class:`AttemptContext` names one attempt (the VM's policy, the kind, the slot, when it
began); :class:`ActionWaiter` is how a caller hands the wait for an action to the poller
instead of blocking its own thread. The runner, the engine, the operator's operations and
the ways a slot ends all speak these terms without depending on one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from snapd.config import VirtualMachinePolicy
from snapd.ledger import OperationKind
from snapd.pipeline.later import Later
from snapd.pipeline.wait import Watch

R = TypeVar("R")  # what a watch ends with, and what its waiter finishes later


class ActionWaiter(Protocol):
    """Runs a watch elsewhere (the poller) and finishes its result later; without one, the
    watch runs on the calling thread."""

    def __call__(self, watch: Watch[R]) -> Later[R]: ...


@dataclass(frozen=True)
class AttemptContext:
    """What one attempt is about: the VM's policy, the kind, the slot, when it began;
    ``unhealthy``: a create decided although the health check failed (``create_unhealthy``),
    recorded on success as ``created_unhealthy``."""

    policy: VirtualMachinePolicy
    kind: OperationKind
    slot: datetime | None
    started: datetime
    unhealthy: bool = False
