"""The faults of a simulation: windows of trouble and moments of manual work, seeded.

A plan is a list of ``Trouble`` items. Presets (``none``, ``typical``, ``harsh``) draw
them from the seed; a YAML file lists them itself::

    - {kind: outage, at: 36h, length: 30h}          # every API call answers 503
    - {kind: unhealthy, vm: 1268054, at: 2d, length: 3d}   # its health check fails
    - {kind: stopped, vm: 1268054, at: 9d, length: 6h}     # the VM is stopped
    - {kind: manual, vm: 1268054, at: 5d}            # a person takes a snapshot
    - {kind: daemon_down, at: 10d, length: 2d}       # the daemon is stopped
    - {kind: hold, vm: 1268054, at: 12d, length: 2d}  # an operator holds the VM
    - {kind: storm, at: 3d, length: 2h, status: 429, share: 0.5}  # half the calls: 429
    - {kind: failed_actions, at: 4d, length: 1d, share: 1}  # snapshot actions end in error
    - {kind: slow_actions, at: 6d, length: 1d, seconds: 1200}  # each action takes 20 min
    - {kind: clock_skew, at: 8d, length: 2d, seconds: -600}  # the server runs 10 min late

``at`` counts from the start of the simulation; durations use the policy's syntax.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

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
    STORM = "storm"
    FAILED_ACTIONS = "failed_actions"
    SLOW_ACTIONS = "slow_actions"
    CLOCK_SKEW = "clock_skew"


PRESETS = ("none", "typical", "harsh")


@dataclass(frozen=True)
class Trouble:
    """One fault: ``vm`` None means every VM; ``length`` zero for a moment (manual).

    ``status`` and ``share`` (of the calls or actions hit) shape storms and failed
    actions; ``seconds`` is a slow action's length or the server's clock skew.
    """

    kind: TroubleKind
    at: timedelta
    length: timedelta = timedelta(0)
    vm: int | None = None
    status: int = 503
    share: float = 1.0
    seconds: float = 0.0

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
    troubles += _api_weather(chance, days, harsh)
    if harsh:
        start = timedelta(hours=chance.uniform(0, days * 24))
        troubles.append(
            Trouble(TroubleKind.DAEMON_DOWN, start, timedelta(hours=chance.uniform(1, 30)))
        )
    return sorted(troubles, key=lambda trouble: (trouble.at, trouble.kind, trouble.vm or 0))


def _api_weather(chance: random.Random, days: int, harsh: bool) -> list[Trouble]:
    """Fleet-wide storms, failed and slow actions and a clock skew: one of each per
    ``days // 10`` (harsh) or ``days // 30`` (typical), at least one."""
    troubles: list[Trouble] = []
    for _ in range(max(1, days // (10 if harsh else 30))):
        hours = [timedelta(hours=chance.uniform(0, days * 24)) for _ in range(4)]
        troubles += [
            Trouble(
                TroubleKind.STORM, hours[0], timedelta(minutes=chance.uniform(5, 90)),
                status=chance.choice((429, 500, 502, 503)), share=0.6 if harsh else 0.2,
            ),
            Trouble(
                TroubleKind.FAILED_ACTIONS, hours[1], timedelta(hours=chance.uniform(1, 12)),
                share=0.5 if harsh else 0.1,
            ),
            Trouble(
                TroubleKind.SLOW_ACTIONS, hours[2], timedelta(hours=chance.uniform(1, 24)),
                seconds=chance.uniform(300, 1800 if harsh else 600),
            ),
            Trouble(
                TroubleKind.CLOCK_SKEW, hours[3], timedelta(hours=chance.uniform(1, 48)),
                seconds=chance.uniform(-900, 900) if harsh else chance.uniform(-60, 60),
            ),
        ]  # fmt: skip
    return troubles


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
    shape = _shape(where, item)
    vm = item.get("vm")
    if vm is not None and vm not in vm_ids:
        raise UsageError(f"{where}: vm {vm} is not in the policy")
    if kind is TroubleKind.MANUAL and vm is None:
        raise UsageError(f"{where}: a manual snapshot needs a vm")
    if kind is TroubleKind.HOLD and (vm is None or length <= timedelta(0)):
        raise UsageError(f"{where}: a hold needs a vm and a length")
    if kind in _WINDOWS and length <= timedelta(0):
        raise UsageError(f"{where}: a {kind} needs a length")
    return Trouble(kind, at, length, vm, **shape)


#: The kinds that last a while and shape the API: they need a length.
_WINDOWS = frozenset({TroubleKind.STORM, TroubleKind.FAILED_ACTIONS, TroubleKind.SLOW_ACTIONS})


def _shape(where: str, item: dict[str, object]) -> dict[str, Any]:
    """``status`` (an HTTP error status), ``share`` (0 to 1) and ``seconds``, as given."""
    shape: dict[str, Any] = {}
    try:
        if "status" in item:
            shape["status"] = int(str(item["status"]))
        if "share" in item:
            shape["share"] = float(str(item["share"]))
        if "seconds" in item:
            shape["seconds"] = float(str(item["seconds"]))
    except ValueError as error:
        raise UsageError(f"{where}: status, share and seconds are numbers ({error})") from None
    if not 400 <= shape.get("status", 503) <= 599:
        raise UsageError(f"{where}: status must be an HTTP error status (400 to 599)")
    if not 0 < shape.get("share", 1.0) <= 1:
        raise UsageError(f"{where}: share must be above 0 and at most 1")
    if item.get("kind") == TroubleKind.SLOW_ACTIONS and shape.get("seconds", 0) <= 0:
        raise UsageError(f"{where}: slow_actions needs seconds above 0")
    return shape
