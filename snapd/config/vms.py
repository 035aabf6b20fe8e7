"""The ``vms`` list of a policy: defaults merged into each VM, values checked and built.

Problems go to the caller's ``report`` (``FILE:LINE: path: message`` is made there); a VM
whose own part failed the schema is skipped so that one run lists every problem.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from snapd.config.cron import parse_cron
from snapd.config.durations import parse_duration
from snapd.config.gaps import slot_gaps
from snapd.config.hook_environment import check_names
from snapd.config.model import HealthCheck, HookCommand, Reporter, VirtualMachinePolicy
from snapd.config.notify import build_notify
from snapd.config.schema import VM_SETTINGS
from snapd.config.yaml_source import KeyPath

BUILT_IN_DEFAULTS: dict[str, Any] = {
    "timezone": "UTC",
    "jitter": "0s",
    "protect_manual": "24h",
    "action_timeout": "30m",
    "busy_timeout": "10m",
    "catch_up": "24h",
    "refresh_before_expiry": "24h",
    "hold_after_restore": "24h",
    "snapshot_lifetime": "20d",
    "allowed_states": ["running"],
}
# Used when a schedule has fewer than two slots in the measured horizon (it is then
# rejected anyway for outliving the snapshot, but the value must exist).
FALLBACK_MIN_AGE = timedelta(hours=12)
DEFAULT_HOOK_TIMEOUT = timedelta(minutes=5)
DEFAULT_HEALTH_CHECK_TIMEOUT = timedelta(seconds=10)


def build_vms(data: Any, broken: set[KeyPath], report: Reporter) -> list[VirtualMachinePolicy]:
    """Build the VMs of ``data``; report their problems.

    ``broken`` holds the key paths the schema already reported. A broken key, in
    ``defaults`` or on the VM, is left out (its built-in default stands in) so that every
    other check of every VM still runs: one run of ``config validate`` lists every
    problem. Only a VM entry that is unusable as a whole is skipped.
    """
    if not isinstance(data, dict) or not isinstance(data.get("vms"), list):
        return []
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or ("defaults",) in broken:
        return []
    vms: list[VirtualMachinePolicy] = []
    seen_ids: dict[int, int] = {}
    seen_names: dict[str, int] = {}
    for index, entry in enumerate(data["vms"]):
        if not isinstance(entry, dict):
            continue
        _check_unique(entry.get("id"), int, seen_ids, ("vms", index, "id"), report)
        # A command given a name takes the VM of that name: two would make it a guess.
        _check_unique(entry.get("name"), str, seen_names, ("vms", index, "name"), report)
        if ("vms", index) not in broken:
            unknown = _broken_keys(broken, ("defaults",)) | _broken_keys(broken, ("vms", index))
            policy = _build_vm(entry, defaults, ("vms", index), report, unknown)
            if policy is not None:
                vms.append(policy)
    return vms


def _check_unique(
    value: object, kind: type, seen: dict[Any, int], key_path: KeyPath, report: Reporter
) -> None:
    """Report ``value`` (when of type ``kind``) if an earlier VM in ``seen`` has it too;
    else remember it there with its VM's index."""
    if not isinstance(value, kind) or isinstance(value, bool):
        return
    if value in seen:
        key = key_path[-1]
        report(key_path, f"duplicate {key} {value} (also vms[{seen[value]}])")
    else:
        seen[value] = int(key_path[1])


def _broken_keys(broken: set[KeyPath], prefix: KeyPath) -> set[str]:
    """The setting names under ``prefix`` whose value the schema reported."""
    size = len(prefix)
    return {str(path[size]) for path in broken if len(path) > size and path[:size] == prefix}


def positive(text: str, key_path: KeyPath, report: Reporter) -> timedelta:
    """Parse the duration ``text``; report it when it is not longer than 0s."""
    duration = parse_duration(text)
    if duration <= timedelta(0):
        report(key_path, f"must be longer than 0s, got {text!r}")
    return duration


def _build_vm(
    entry: dict[str, Any],
    defaults: dict[str, Any],
    key_path: KeyPath,
    report: Reporter,
    unknown: set[str],
) -> VirtualMachinePolicy | None:
    """The VM's policy; ``unknown`` names settings already reported, which are left out."""
    merged = _merged(entry, defaults, unknown)

    def where(key: str) -> KeyPath:
        # Point at the VM's own key when it set one, else at the defaults entry.
        return (*key_path, key) if key in entry else ("defaults", key)

    if "schedule" in unknown:
        return None  # already reported; nothing else depends on a missing schedule
    if "schedule" not in merged:
        report(key_path, "no schedule: set 'schedule' here or in 'defaults'")
        return None
    schedule = parse_cron(merged["schedule"])
    gaps = slot_gaps(schedule)
    durations = {key: parse_duration(merged[key]) for key in _DURATION_KEYS if key in merged}
    _check_positive(merged, durations, where, report)
    if "min_age" not in durations:
        durations["min_age"] = gaps.shortest / 2 if gaps.shortest else FALLBACK_MIN_AGE
    lifetime = durations["snapshot_lifetime"]
    if "snapshot_lifetime" not in unknown:  # a lifetime already reported measures nothing
        _check_lifetime(gaps.longest, lifetime, where("schedule"), report)
    return VirtualMachinePolicy(
        id=entry["id"],
        name=entry.get("name", str(entry["id"])),
        schedule=merged["schedule"],
        timezone=merged["timezone"],
        jitter=durations["jitter"],
        min_age=durations["min_age"],
        protect_manual=durations["protect_manual"],
        action_timeout=durations["action_timeout"],
        busy_timeout=durations["busy_timeout"],
        catch_up=durations["catch_up"],
        refresh_before_expiry=durations["refresh_before_expiry"],
        hold_after_restore=durations["hold_after_restore"],
        snapshot_lifetime=lifetime,
        allowed_states=tuple(merged["allowed_states"]),
        health_check=_health_check(merged.get("health_check")),
        pre_hook=_hook(merged.get("pre_hook"), where("pre_hook"), report),
        post_hook=_hook(merged.get("post_hook"), where("post_hook"), report),
        notify=build_notify(merged.get("notify"), where("notify"), report),
        account=merged.get("account", ""),
    )


def _merged(entry: dict[str, Any], defaults: dict[str, Any], unknown: set[str]) -> dict[str, Any]:
    """The VM's settings over ``defaults`` over the built-in ones, less the ``unknown``
    (already reported) settings, for which the built-in value stands in if there is one."""
    merged = {**BUILT_IN_DEFAULTS, **defaults, **entry}
    for key in unknown - {"id"}:
        merged.pop(key, None)
        if key in BUILT_IN_DEFAULTS:
            merged[key] = BUILT_IN_DEFAULTS[key]
    return merged


def _check_lifetime(
    longest: timedelta | None, lifetime: timedelta, key_path: KeyPath, report: Reporter
) -> None:
    """Report a schedule whose longest gap (None: over a year) outlives the snapshot."""
    if longest is None or longest > lifetime:
        gap_text = f"{longest.days}d" if longest else "more than a year"
        report(
            key_path,
            f"the longest gap between slots ({gap_text}) exceeds the snapshot lifetime "
            f"({lifetime.days}d): the restore point would expire between runs",
        )


def _check_positive(
    merged: dict[str, Any],
    durations: dict[str, timedelta],
    where: Callable[[str], KeyPath],
    report: Reporter,
) -> None:
    """Report the durations and check timeouts that must be longer than 0s."""
    for key in ("action_timeout", "busy_timeout", "snapshot_lifetime"):
        if durations[key] <= timedelta(0):
            report(where(key), f"must be longer than 0s, got {merged[key]!r}")
    for key in ("health_check", "pre_hook", "post_hook"):
        timeout = (merged.get(key) or {}).get("timeout")
        if timeout is not None and parse_duration(timeout) <= timedelta(0):
            report((*where(key), "timeout"), f"must be longer than 0s, got {timeout!r}")


_DURATION_KEYS = {key for key, schema in VM_SETTINGS.items() if schema.get("format") == "duration"}


def _health_check(raw: dict[str, Any] | None) -> HealthCheck | None:
    if raw is None:
        return None
    timeout = parse_duration(raw["timeout"]) if "timeout" in raw else DEFAULT_HEALTH_CHECK_TIMEOUT
    expected = tuple(raw.get("expect_status", ()))
    return HealthCheck(url=raw["url"], timeout=timeout, expect_status=expected)


def _hook(raw: dict[str, Any] | None, key_path: KeyPath, report: Reporter) -> HookCommand | None:
    if raw is None:
        return None
    timeout = parse_duration(raw["timeout"]) if "timeout" in raw else DEFAULT_HOOK_TIMEOUT
    environment = check_names(raw.get("env"), (*key_path, "env"), report)
    return HookCommand(command=tuple(raw["command"]), timeout=timeout, environment=environment)
