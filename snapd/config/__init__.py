"""The policy: file → frozen dataclasses, its schema, durations, cron, schedules, credentials.

``snapd.config`` re-exports what the rest of snapd uses from ``policy_file``.
"""

from __future__ import annotations

from snapd.config.model import (
    AccountSettings,
    ApiSettings,
    Config,
    ConfigError,
    HealthCheck,
    HookCommand,
    LogSettings,
    MetricsSettings,
    VirtualMachinePolicy,
)
from snapd.config.overrides import Overrides
from snapd.config.policy_file import (
    DEFAULT_CONFIG_PATH,
    UNEXPECTED_PROBLEM,
    load_config,
    machine_problems,
    state_dir_note,
)
from snapd.config.vms import BUILT_IN_DEFAULTS

__all__ = [
    "BUILT_IN_DEFAULTS",
    "DEFAULT_CONFIG_PATH",
    "UNEXPECTED_PROBLEM",
    "AccountSettings",
    "ApiSettings",
    "Config",
    "ConfigError",
    "HealthCheck",
    "HookCommand",
    "LogSettings",
    "MetricsSettings",
    "Overrides",
    "VirtualMachinePolicy",
    "load_config",
    "machine_problems",
    "state_dir_note",
]
