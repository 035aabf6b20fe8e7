"""The policy file: YAML in, frozen dataclasses out, every problem reported at once.

Contract: ``load_config(path)`` returns a ``Config`` or raises ``ConfigError`` whose
``problems`` are one-line strings ``FILE:LINE: path: message``. Nothing is printed here; the
CLI prints the problems and exits 2. Per-VM keys override ``defaults``; the defaults of the
defaults are in ``BUILT_IN_DEFAULTS`` and in ``config.example.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from snapd.config_schema import POLICY_SCHEMA, VM_SETTINGS
from snapd.cron import parse_cron
from snapd.durations import parse_duration
from snapd.notify.settings import NotifySettings, build_notify
from snapd.schedule import slot_gaps
from snapd.schema_check import validate
from snapd.yaml_source import KeyPath, YamlDocument, YamlSourceError, format_path, load_yaml

Reporter = Callable[[KeyPath, str], None]

DEFAULT_CONFIG_PATH = Path("/etc/snapd/config.yaml")
DEFAULT_BASE_URL = "https://developers.hostinger.com"

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


class ConfigError(Exception):
    """The policy cannot be used. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class HealthCheck:
    url: str
    timeout: timedelta
    expect_status: tuple[int, ...]  # empty: any 2xx


@dataclass(frozen=True)
class HookCommand:
    command: tuple[str, ...]
    timeout: timedelta


@dataclass(frozen=True)
class VirtualMachinePolicy:
    """The effective settings of one VM after defaults were applied."""

    id: int
    name: str
    schedule: str
    timezone: str
    jitter: timedelta
    min_age: timedelta
    protect_manual: timedelta
    action_timeout: timedelta
    busy_timeout: timedelta
    catch_up: timedelta
    refresh_before_expiry: timedelta
    hold_after_restore: timedelta
    snapshot_lifetime: timedelta
    allowed_states: tuple[str, ...]
    health_check: HealthCheck | None
    pre_hook: HookCommand | None
    post_hook: HookCommand | None
    notify: NotifySettings | None = None


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    token_file: Path | None
    timeout: timedelta
    requests_per_minute: int


@dataclass(frozen=True)
class MetricsSettings:
    host: str
    port: int

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class LogSettings:
    format: str
    level: str


@dataclass(frozen=True)
class Config:
    source: Path
    api: ApiSettings
    vms: tuple[VirtualMachinePolicy, ...]
    metrics: MetricsSettings
    state_dir: Path
    log: LogSettings

    def vm(self, virtual_machine_id: int) -> VirtualMachinePolicy:
        """Return the policy of ``virtual_machine_id``; raise ``KeyError`` if not listed."""
        for policy in self.vms:
            if policy.id == virtual_machine_id:
                return policy
        raise KeyError(virtual_machine_id)


def load_config(path: Path) -> Config:
    """Read, validate and build the policy at ``path``; raise ``ConfigError``."""
    try:
        document = load_yaml(path)
    except YamlSourceError as error:
        raise ConfigError([str(error)]) from None
    problems = [
        f"{path}:{line}: {format_path(key_path)}: duplicate key"
        for key_path, line in document.duplicates
    ]

    def report(key_path: KeyPath, message: str) -> None:
        problems.append(f"{path}:{document.line_of(key_path)}: {format_path(key_path)}: {message}")

    if document.data is None:
        raise ConfigError([f"{path}:1: the file is empty; expected a policy with 'vms'"])
    schema_problems = list(validate(document.data, POLICY_SCHEMA))
    for key_path, message in schema_problems:
        report(key_path, message)
    # Check what can still be checked in the VMs whose own part is valid, so that one run
    # of `config validate` lists every problem.
    broken = {key_path[:2] for key_path, _ in schema_problems}
    vms = _build_vms(document.data, broken, report)
    if problems:
        raise ConfigError(problems)
    config = _build(document, vms, report)
    if problems:
        raise ConfigError(problems)
    return config


def _build_vms(data: Any, broken: set[KeyPath], report: Reporter) -> list[VirtualMachinePolicy]:
    if not isinstance(data, dict) or not isinstance(data.get("vms"), list):
        return []
    defaults = data.get("defaults", {})
    defaults_valid = isinstance(defaults, dict) and not any(
        key_path[0] == "defaults" for key_path in broken
    )
    vms: list[VirtualMachinePolicy] = []
    seen: dict[int, int] = {}
    for index, entry in enumerate(data["vms"]):
        if not isinstance(entry, dict):
            continue
        identifier = entry.get("id")
        if isinstance(identifier, int) and identifier in seen:
            first = seen[identifier]
            report(("vms", index, "id"), f"duplicate id {identifier} (also vms[{first}])")
        elif isinstance(identifier, int):
            seen[identifier] = index
        if defaults_valid and ("vms", index) not in broken:
            policy = _build_vm(entry, defaults, ("vms", index), report)
            if policy is not None:
                vms.append(policy)
    return vms


def _build(
    document: YamlDocument,
    vms: list[VirtualMachinePolicy],
    report: Reporter,
) -> Config:
    data: dict[str, Any] = document.data
    api = data.get("api", {})
    host, _, port = data.get("metrics", {}).get("listen", "127.0.0.1:9891").rpartition(":")
    token_file = api.get("token_file")
    if token_file:
        _check_token_file(document.path.parent / token_file, report)
    log = data.get("log", {})
    return Config(
        source=document.path,
        api=ApiSettings(
            base_url=api.get("base_url", DEFAULT_BASE_URL).rstrip("/"),
            token_file=document.path.parent / token_file if token_file else None,
            timeout=_positive(api.get("timeout", "30s"), ("api", "timeout"), report),
            requests_per_minute=api.get("requests_per_minute", 60),
        ),
        vms=tuple(vms),
        metrics=MetricsSettings(host=host.strip("[]") or "0.0.0.0", port=int(port)),
        state_dir=Path(data.get("state_dir", "/var/lib/snapd")),
        log=LogSettings(format=log.get("format", "auto"), level=log.get("level", "info")),
    )


def _check_token_file(path: Path, report: Reporter) -> None:
    """A token file named in the policy must be readable now, not at the first slot."""
    if not path.exists():
        report(("api", "token_file"), f"{path}: file not found")
    elif not path.is_file():
        report(("api", "token_file"), f"{path}: not a regular file")
    elif not os.access(path, os.R_OK):
        report(("api", "token_file"), f"{path}: permission denied")


def _positive(text: str, key_path: KeyPath, report: Reporter) -> timedelta:
    duration = parse_duration(text)
    if duration <= timedelta(0):
        report(key_path, f"must be longer than 0s, got {text!r}")
    return duration


def _build_vm(
    entry: dict[str, Any], defaults: dict[str, Any], key_path: KeyPath, report: Reporter
) -> VirtualMachinePolicy | None:
    merged = {**BUILT_IN_DEFAULTS, **defaults, **entry}

    def where(key: str) -> KeyPath:
        # Point at the VM's own key when it set one, else at the defaults entry.
        return (*key_path, key) if key in entry else ("defaults", key)

    if "schedule" not in merged:
        report(key_path, "no schedule: set 'schedule' here or in 'defaults'")
        return None
    schedule = parse_cron(merged["schedule"])
    gaps = slot_gaps(schedule)
    durations = {key: parse_duration(merged[key]) for key in _DURATION_KEYS if key in merged}
    for key in ("action_timeout", "busy_timeout", "snapshot_lifetime"):
        if durations[key] <= timedelta(0):
            report(where(key), f"must be longer than 0s, got {merged[key]!r}")
    for key in ("health_check", "pre_hook", "post_hook"):
        timeout = (merged.get(key) or {}).get("timeout")
        if timeout is not None and parse_duration(timeout) <= timedelta(0):
            report((*where(key), "timeout"), f"must be longer than 0s, got {timeout!r}")
    if "min_age" not in durations:
        durations["min_age"] = gaps.shortest / 2 if gaps.shortest else FALLBACK_MIN_AGE
    lifetime = durations["snapshot_lifetime"]
    if gaps.longest is None or gaps.longest > lifetime:
        gap_text = f"{gaps.longest.days}d" if gaps.longest else "more than a year"
        report(
            where("schedule"),
            f"the longest gap between slots ({gap_text}) exceeds the snapshot lifetime "
            f"({lifetime.days}d): the restore point would expire between runs",
        )
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
        pre_hook=_hook(merged.get("pre_hook")),
        post_hook=_hook(merged.get("post_hook")),
        notify=build_notify(merged.get("notify"), where("notify"), report),
    )


_DURATION_KEYS = {key for key, schema in VM_SETTINGS.items() if schema.get("format") == "duration"}


def _health_check(raw: dict[str, Any] | None) -> HealthCheck | None:
    if raw is None:
        return None
    timeout = parse_duration(raw["timeout"]) if "timeout" in raw else DEFAULT_HEALTH_CHECK_TIMEOUT
    expected = tuple(raw.get("expect_status", ()))
    return HealthCheck(url=raw["url"], timeout=timeout, expect_status=expected)


def _hook(raw: dict[str, Any] | None) -> HookCommand | None:
    if raw is None:
        return None
    timeout = parse_duration(raw["timeout"]) if "timeout" in raw else DEFAULT_HOOK_TIMEOUT
    return HookCommand(command=tuple(raw["command"]), timeout=timeout)
