"""The VM list as JSON text, each VM encoded once per state and lock.

A daemon looks at a large fleet through ``GET …/virtual-machines`` every few seconds
while slots are due; encoding a thousand VMs for each answer was most of the fake's
work. A VM's fields other than its state and lock never change, so its text is kept per
(state, lock) and the list is joined from the texts: the same bytes ``json.dumps`` gives
for the whole list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from snapd.fakeapi.model import VirtualMachineRecord


class RawJson(bytes):
    """A JSON text already encoded; the dispatcher sends it as it is."""


class MachineTexts:
    """Each VM's ``VirtualMachineResource`` text, by VM, state and lock."""

    def __init__(self) -> None:
        self._texts: dict[tuple[int, str, str], bytes] = {}

    def text(self, machine: VirtualMachineRecord, state: str, lock: str) -> bytes:
        """The VM's JSON text as shown with ``state`` and ``lock``."""
        key = (machine.virtual_machine_id, state, lock)
        text = self._texts.get(key)
        if text is None:
            text = json.dumps(machine.to_json(state=state, actions_lock=lock)).encode()
            self._texts[key] = text
        return text

    def array(self, shown: Iterable[tuple[VirtualMachineRecord, str, str]]) -> RawJson:
        """The JSON array of the VMs, each as (record, state, lock)."""
        return RawJson(b"[" + b", ".join(self.text(*item) for item in shown) + b"]")
