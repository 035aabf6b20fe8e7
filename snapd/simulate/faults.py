"""The faults of a simulation: windows of trouble and moments of manual work, seeded.

A plan is a list of ``Trouble`` items. Presets (``none``, ``typical``, ``harsh``) draw
them from the seed; a YAML file lists them itself::

    - {kind: outage, at: 36h, length: 30h}          # every API call answers 503
    - {kind: unhealthy, vm: 1268054, at: 2d, length: 3d}   # its health check fails
    - {kind: stopped, vm: 1268054, at: 9d, length: 6h}     # the VM is stopped
    - {kind: manual, vm: 1268054, at: 5d}            # a person takes a snapshot
    - {kind: daemon_down, at: 10d, length: 2d}       # the daemon is stopped
    - {kind: hold, vm: 1268054, at: 12d, length: 2d}  # an operator holds the VM

``at`` counts from the start of the simulation; durations use the policy's syntax.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

import yaml

from snapd.config.durations import parse_duration
from snapd.errors import UsageError


class TroubleKind(StrEnum):
    """What goes wrong."""

    OUTAGE = "outage"
    UNHEALTHY = "unhealthy"
    STOPPED = "stopped"
    MANUAL = "manual"
    DAEMON_DOWN = "daemon_down"
    HOLD = "hold"


PRESETS = ("none", "typical", "harsh")


@dataclass(frozen=True)
class Trouble:
    """One fault: ``vm`` None means every VM; ``length`` zero for a moment (manual)."""

    kind: TroubleKind
    at: timedelta
    length: timedelta = timedelta(0)
    vm: int | None = None

    @property
    def end(self) -> timedelta:
        return self.at + self.length


def preset(name: str, vm_ids: list[int], days: int, seed: int) -> list[Trouble]:
    """The seeded troubles of preset ``name`` over ``days`` for ``vm_ids``."""
    if name == "none":
        return []
    chance = random.Random(seed)
    harsh = name == "harsh"
    troubles: list[Trouble] = []
    for _ in range(max(1, days // (10 if harsh else 30))):
        start = timedelta(hours=chance.uniform(0, days * 24))
        troubles.append(
            Trouble(
                TroubleKind.OUTAGE, start, timedelta(hours=chance.uniform(1, 12 if harsh else 3))
            )
        )
    for vm in vm_ids:
        if chance.random() < (0.5 if harsh else 0.1):
            start = timedelta(hours=chance.uniform(0, days * 24))
            troubles.append(
                Trouble(TroubleKind.UNHEALTHY, start, timedelta(hours=chance.uniform(2, 48)), vm)
            )
        if chance.random() < (0.5 if harsh else 0.2):
            troubles.append(
                Trouble(TroubleKind.MANUAL, timedelta(hours=chance.uniform(0, days * 24)), vm=vm)
            )
        if chance.random() < (0.2 if harsh else 0.05):
            start = timedelta(hours=chance.uniform(0, days * 24))
            troubles.append(
                Trouble(TroubleKind.HOLD, start, timedelta(hours=chance.uniform(1, 36)), vm)
            )
    if harsh:
        start = timedelta(hours=chance.uniform(0, days * 24))
        troubles.append(
            Trouble(TroubleKind.DAEMON_DOWN, start, timedelta(hours=chance.uniform(1, 30)))
        )
    return sorted(troubles, key=lambda trouble: (trouble.at, trouble.kind, trouble.vm or 0))


def load_faults(reference: str, vm_ids: list[int], days: int, seed: int) -> list[Trouble]:
    """A preset by name, else a YAML file; ``UsageError`` (one line) for anything wrong."""
    if reference in PRESETS:
        return preset(reference, vm_ids, days, seed)
    path = Path(reference)
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(
            f"--faults {reference}: neither a preset ({', '.join(PRESETS)}) nor a readable file "
            f"({error.strerror})"
        ) from None
    except yaml.YAMLError as error:
        raise UsageError(f"{reference}: not YAML: {' '.join(str(error).split())}") from None
    if not isinstance(items, list):
        raise UsageError(f"{reference}: expected a list of faults")
    return [_trouble(reference, index, item, vm_ids) for index, item in enumerate(items)]


def _trouble(source: str, index: int, item: object, vm_ids: list[int]) -> Trouble:
    where = f"{source}: fault {index + 1}"
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected a mapping with kind and at")
    try:
        kind = TroubleKind(str(item.get("kind")))
        at = parse_duration(str(item["at"]))
        length = parse_duration(str(item.get("length", "0s")))
    except (KeyError, ValueError) as error:
        known = ", ".join(kind.value for kind in TroubleKind)
        raise UsageError(
            f"{where}: needs kind ({known}), at and length as durations ({error})"
        ) from None
    vm = item.get("vm")
    if vm is not None and vm not in vm_ids:
        raise UsageError(f"{where}: vm {vm} is not in the policy")
    if kind is TroubleKind.MANUAL and vm is None:
        raise UsageError(f"{where}: a manual snapshot needs a vm")
    if kind is TroubleKind.HOLD and (vm is None or length <= timedelta(0)):
        raise UsageError(f"{where}: a hold needs a vm and a length")
    return Trouble(kind, at, length, vm)
