"""``snapd config validate|show|schema``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from snapd.commands import ExitCode
from snapd.config import Config, ConfigError, VirtualMachinePolicy, load_config
from snapd.config_schema import POLICY_SCHEMA
from snapd.credentials import CredentialError, load_token
from snapd.durations import format_duration
from snapd.notify.settings import NotifySettings, shown


def load_or_report(path: Path) -> Config | None:
    """Load the policy, or print every problem to ``stderr`` and return None."""
    try:
        return load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(f"snapd: error: {problem}", file=sys.stderr)
        return None


def validate(path: Path) -> int:
    """Exit 0 and say so when the policy is valid; else list the problems and exit 2."""
    config = load_or_report(path)
    if config is None:
        return ExitCode.USAGE
    print(f"{path}: valid, {len(config.vms)} virtual machine(s)", file=sys.stdout)
    return ExitCode.OK


def _vm_settings(policy: VirtualMachinePolicy) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key, value in vars(policy).items():
        if hasattr(value, "total_seconds"):
            settings[key] = format_duration(value)
        elif isinstance(value, tuple):
            settings[key] = list(value)
        elif value is None:
            continue
        elif isinstance(value, NotifySettings):
            settings[key] = shown(value)  # every URL masked: they are secrets
        elif hasattr(value, "__dataclass_fields__"):
            settings[key] = {
                name: format_duration(item)
                if hasattr(item, "total_seconds")
                else list(item)
                if isinstance(item, tuple)
                else item
                for name, item in vars(value).items()
            }
        else:
            settings[key] = value
    return settings


def show(path: Path) -> int:
    """Print the effective policy (defaults applied, token masked) as YAML."""
    config = load_or_report(path)
    if config is None:
        return ExitCode.USAGE
    try:
        token = load_token(config.api.token_file)
        token_text = f"*** (from {token.source})"
    except CredentialError as error:
        token_text = f"(none: {error})"
    effective = {
        "api": {
            "base_url": config.api.base_url,
            "token": token_text,
            "timeout": format_duration(config.api.timeout),
            "requests_per_minute": config.api.requests_per_minute,
        },
        "metrics": {"listen": config.metrics.listen},
        "state_dir": str(config.state_dir),
        "log": {"format": config.log.format, "level": config.log.level},
        "vms": [_vm_settings(policy) for policy in config.vms],
    }
    sys.stdout.write(yaml.safe_dump(effective, sort_keys=False, allow_unicode=True))
    return ExitCode.OK


def schema() -> int:
    """Print the policy's JSON Schema."""
    print(json.dumps(POLICY_SCHEMA, indent=2))
    return ExitCode.OK
