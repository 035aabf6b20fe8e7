"""The policy in force per VM, replaced as a whole on reload; read from any thread."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from snapd.config import VirtualMachinePolicy


class PolicyBook:
    """The current ``VirtualMachinePolicy`` of each VM, by id."""

    def __init__(self, policies: Iterable[VirtualMachinePolicy]) -> None:
        self._lock = threading.Lock()
        self._policies = {policy.id: policy for policy in policies}

    def get(self, virtual_machine_id: int) -> VirtualMachinePolicy | None:
        with self._lock:
            return self._policies.get(virtual_machine_id)

    def replace(self, policies: Iterable[VirtualMachinePolicy]) -> None:
        with self._lock:
            self._policies = {policy.id: policy for policy in policies}
