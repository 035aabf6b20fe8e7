"""The policy file: YAML in, frozen dataclasses out, every problem reported at once.

Contract: ``load_config(path)`` returns a ``Config`` or raises ``ConfigError`` whose
``problems`` are one-line strings ``FILE:LINE: path: message``. Nothing is printed here; the
CLI prints the problems and exits 2. Per-VM keys override ``defaults``; the defaults of the
defaults are in ``BUILT_IN_DEFAULTS`` and in ``config.example.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from snapd.config.accounts import build_accounts, check_token_file, os_reason
from snapd.config.credentials import handed_over
from snapd.config.ledger import build_ledger_settings
from snapd.config.model import (
    DEFAULT_BASE_URL,
    DEFAULT_STOP_TIMEOUT,
    ApiSettings,
    Config,
    ConfigError,
    LogSettings,
    Reporter,
    VirtualMachinePolicy,
)
from snapd.config.overrides import Overrides, metrics_settings
from snapd.config.schema import POLICY_SCHEMA
from snapd.config.validate import validate
from snapd.config.vms import build_vms, positive
from snapd.config.yaml_source import (
    KeyPath,
    YamlDocument,
    YamlSourceError,
    format_path,
    load_yaml,
)

# hostinger-snapd, not snapd: /var/lib/snapd and the name snapd belong to Ubuntu's snap
# daemon on every Ubuntu server. An older state_dir is still read when the policy names it.
DEFAULT_CONFIG_PATH = Path("/etc/hostinger-snapd/config.yaml")
DEFAULT_STATE_DIR = "/var/lib/hostinger-snapd"
# A stop that waits longer than this outlasts systemd's default TimeoutStopSec (90s) many
# times over; jobs are resumable from the ledger, so waiting longer buys nothing.
MAXIMUM_STOP_TIMEOUT = timedelta(minutes=10)

# The one message that means "a check in snapd failed", not "the file is wrong".
UNEXPECTED_PROBLEM = "snapd could not check this policy"
EXTENSION_PREFIX = "x-"


def load_config(
    path: Path,
    *,
    offline: bool = False,
    environ: Mapping[str, str] | None = None,
    overrides: Overrides | None = None,
) -> Config:
    """Read, validate and build the policy at ``path``, with ``overrides`` (the command
    line's ``--state-dir`` and ``--metrics-listen``) in place of the policy's values.

    ``offline`` skips the checks of this machine's paths (``api.token_file``,
    ``state_dir``): a policy checked in CI is meant for another machine. ``api.token_file``
    is not checked either when ``environ`` (the process environment when None) hands the
    token over as a systemd credential, which wins over it (see ``credentials``).

    Raises:
        ConfigError: for any content of the file and any unreadable file; never anything
            else, because a SIGHUP reload and ``config validate`` must survive any input.
    """
    try:
        return _load_config(path, offline, environ, overrides or Overrides())
    except ConfigError:
        raise
    except Exception as error:
        # Every value path reports its own problems; this is the net under them, so that
        # a value nobody foresaw fails closed as a problem instead of a traceback.
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:200]
        raise ConfigError([f"{path}:1: {UNEXPECTED_PROBLEM} ({reason})"]) from None


def _load_config(
    path: Path, offline: bool, environ: Mapping[str, str] | None, overrides: Overrides
) -> Config:
    try:
        document = load_yaml(path)
    except YamlSourceError as error:
        raise ConfigError([str(error)]) from None
    problems: list[tuple[int, str]] = [
        (line, f"{path}:{line}: {format_path(key_path)}: duplicate key")
        for key_path, line in document.duplicates
    ]

    options = overrides.options()

    def report(key_path: KeyPath, message: str) -> None:
        if key_path in options:  # a value from the command line, not from the file
            problems.append((0, f"{options[key_path]}: {message}"))
            return
        line = document.line_of(key_path)
        problems.append((line, f"{path}:{line}: {format_path(key_path)}: {message}"))

    if document.data is None:
        raise ConfigError([f"{path}:1: the file is empty; expected a policy with 'vms'"])
    if isinstance(document.data, dict):
        # As in compose files: top-level ``x-`` keys are the operator's (a home for
        # anchors), never snapd's.
        document.data = {
            key: value
            for key, value in document.data.items()
            if not (isinstance(key, str) and key.startswith(EXTENSION_PREFIX))
        }
    schema_problems = list(validate(document.data, POLICY_SCHEMA))
    for key_path, message in schema_problems:
        report(key_path, message)
    # Check what can still be checked in the VMs whose own part is valid, so that one run
    # of `config validate` lists every problem.
    broken = {key_path for key_path, _ in schema_problems}
    vms = build_vms(document.data, broken, report)
    if problems:
        raise _in_line_order(problems)
    config = overrides.apply(_build(document, vms, report))
    if not offline:
        _check_machine(config, environ, report)
    if problems:
        raise _in_line_order(problems)
    return config


def machine_problems(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """What ``load_config`` checks on this machine beyond the file (``api.token_file``,
    ``state_dir``), for a policy loaded ``offline``: one ``FILE:LINE: key: message`` each.

    A command can then report them with the token's and the hooks' problems in one run.
    """
    problems: list[str] = []

    def report(key_path: KeyPath, message: str) -> None:
        problems.append(f"{config.located(key_path)}: {message}")

    _check_machine(config, environ, report)
    return problems


def _check_machine(config: Config, environ: Mapping[str, str] | None, report: Reporter) -> None:
    # The service's dynamic user may not read a root-owned token_file; it needs not to
    # when the credential, which wins, was handed over.
    if config.api.token_file is not None and handed_over(environ) is None:
        check_token_file(config.api.token_file, ("api", "token_file"), report)
    for index, account in enumerate(config.accounts):
        if account.token_file is not None:
            check_token_file(account.token_file, ("accounts", index, "token_file"), report)
    _check_state_dir(config.state_dir, report)


def _in_line_order(problems: list[tuple[int, str]]) -> ConfigError:
    """Every problem, sorted by line (stable: one line's problems keep their order)."""
    return ConfigError([text for _, text in sorted(problems, key=lambda problem: problem[0])])


def _build(document: YamlDocument, vms: list[VirtualMachinePolicy], report: Reporter) -> Config:
    data: dict[str, Any] = document.data
    api = data.get("api", {})
    token_file = _beside_policy(document.path, api.get("token_file"))
    state_dir = document.path.parent / data.get("state_dir", DEFAULT_STATE_DIR)
    log = data.get("log", {})
    api_settings = ApiSettings(
        base_url=api.get("base_url", DEFAULT_BASE_URL).rstrip("/"),
        token_file=token_file,
        timeout=positive(api.get("timeout", "30s"), ("api", "timeout"), report),
        requests_per_minute=api.get("requests_per_minute", 60),
    )
    accounts, vms = build_accounts(data, api_settings, vms, report, policy_path=document.path)
    return Config(
        source=document.path,
        api=api_settings,
        accounts=accounts,
        vms=tuple(vms),
        metrics=metrics_settings(data.get("metrics", {}).get("listen", "127.0.0.1:9891")),
        state_dir=state_dir,
        log=LogSettings(format=log.get("format", "auto"), level=log.get("level", "info")),
        stop_timeout=_stop_timeout(data.get("stop_timeout"), report),
        ledger=build_ledger_settings(data.get("ledger", {}), document.path, report),
        key_lines=dict(document.lines),
    )


def _stop_timeout(text: str | None, report: Reporter) -> timedelta:
    if text is None:
        return DEFAULT_STOP_TIMEOUT
    duration = positive(text, ("stop_timeout",), report)
    if duration > MAXIMUM_STOP_TIMEOUT:
        report(("stop_timeout",), f"must be at most 10m, got {text!r}")
    return duration


def _beside_policy(policy: Path, text: str | None) -> Path | None:
    """A path from the policy; a relative one is read beside the policy file, so that the
    meaning of the file does not depend on the directory snapd was started from."""
    return policy.parent / text if text else None


def _check_state_dir(path: Path, report: Reporter) -> None:
    """The state directory must exist, or be creatable: missing, with an existing parent.

    The ledger creates a missing one (mode 0700) when it is first opened.
    """
    try:
        if path.is_dir():
            return
        if path.exists():
            report(("state_dir",), f"{path}: not a directory")
        elif not path.parent.is_dir():
            report(
                ("state_dir",),
                f"{path}: does not exist, and neither does its parent {path.parent} "
                "(snapd creates only the last folder)",
            )
    except (OSError, ValueError) as error:
        report(("state_dir",), f"{path}: cannot be checked: {os_reason(error)}")


def state_dir_note(config: Config) -> str | None:
    """What ``config validate`` says about a state directory that will be created."""
    try:
        missing = not config.state_dir.exists()
    except (OSError, ValueError):
        return None
    if not missing:
        return None
    return (
        f"note: state_dir {config.state_dir} does not exist yet; snapd will create it (mode 0700)"
    )
