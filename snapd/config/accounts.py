"""The ``accounts`` list of a policy: several Hostinger accounts in one daemon.

Each account has its own token and its own request budget (the API's limit is per token).
A policy without ``accounts`` has one account, the ``api`` one, named ""; its VMs carry no
``account``. With one account listed, a VM without ``account`` belongs to it; with several,
every VM names its own. Problems go to the caller's ``report`` (``FILE:LINE: path: message``
is made there).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from snapd.config.model import AccountSettings, ApiSettings, Reporter, VirtualMachinePolicy
from snapd.config.yaml_source import KeyPath

# A name for logs, metric labels and ledger rows: short, and safe in a file name.
ACCOUNT_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"


def accounts_schema() -> dict[str, Any]:
    """The ``accounts`` key of ``snapd.config.schema.POLICY_SCHEMA`` (a fresh dict each
    call: no module-level state)."""
    return {
        "type": "array",
        "minItems": 1,
        "description": "Several Hostinger accounts in one daemon, each with its own token "
        "and request budget; without it, the one account of api and the token sources.",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {
                    "type": "string",
                    "pattern": ACCOUNT_NAME_PATTERN,
                    "description": "The account's name, used by a VM's account key and in "
                    "the account label of the metrics.",
                },
                "token_file": {
                    "type": "string",
                    "minLength": 1,
                    "description": "A file holding this account's API token (relative to "
                    "the policy); the systemd credential hostinger-api-token-NAME wins over "
                    "it, the variable HOSTINGER_API_TOKEN_NAME stands in when neither exists.",
                },
                "requests_per_minute": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100_000,
                    "default": "api.requests_per_minute",
                    "description": "This token's request budget per minute.",
                },
                "base_url": {
                    "type": "string",
                    "format": "http-url",
                    "default": "api.base_url",
                    "description": "This account's API address.",
                },
            },
        },
    }


def build_accounts(
    data: dict[str, Any],
    api: ApiSettings,
    vms: list[VirtualMachinePolicy],
    report: Reporter,
    *,
    policy_path: Path,
) -> tuple[tuple[AccountSettings, ...], list[VirtualMachinePolicy]]:
    """The policy's accounts and its VMs with their account filled in.

    ``api`` supplies what an account leaves out (base URL, requests per minute); a relative
    ``token_file`` is read beside ``policy_path`` (whether it is readable is checked with
    the machine, ``policy_file.machine_problems``). Reports a duplicate account name, a VM naming an
    unknown account, a VM without one when there are several, and a VM naming an account
    in a policy without ``accounts``.
    """
    entries = data.get("accounts")
    if not isinstance(entries, list):
        for index, policy in enumerate(vms):
            if policy.account:
                report(_account_key(data, policy, index), "names an account, but the policy "
                       "has no 'accounts' list")  # fmt: skip
        return (), vms
    accounts: list[AccountSettings] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue  # the schema said why
        if any(account.name == entry["name"] for account in accounts):
            report(("accounts", index, "name"), f"duplicate account name {entry['name']!r}")
            continue
        text = entry.get("token_file")
        token_file = policy_path.parent / text if text else None
        accounts.append(
            AccountSettings(
                name=entry["name"],
                token_file=token_file,
                requests_per_minute=entry.get("requests_per_minute", api.requests_per_minute),
                base_url=str(entry.get("base_url", api.base_url)).rstrip("/"),
            )
        )
    return tuple(accounts), _with_accounts(data, vms, accounts, report)


def _with_accounts(
    data: dict[str, Any],
    vms: list[VirtualMachinePolicy],
    accounts: list[AccountSettings],
    report: Reporter,
) -> list[VirtualMachinePolicy]:
    """The VMs, each with its account; a VM with a wrong or missing one is reported."""
    names = [account.name for account in accounts]
    resolved = []
    for index, policy in enumerate(vms):
        account = policy.account
        if not account and len(names) == 1:
            account = names[0]
        if not account:
            report(_account_key(data, policy, index), "no account: with several 'accounts', every "
                   f"VM names one ({', '.join(names)})")  # fmt: skip
        elif account not in names:
            report(_account_key(data, policy, index), f"unknown account {account!r} "
                   f"(accounts: {', '.join(names)})")  # fmt: skip
        resolved.append(replace(policy, account=account))
    return resolved


def _account_key(data: dict[str, Any], policy: VirtualMachinePolicy, fallback: int) -> KeyPath:
    """Where ``policy``'s account is set: its own ``account`` key, the defaults' one, or
    (none set) its entry in ``vms``. Found by id: entries broken as a whole are not among
    the built VMs, so the built VM's index may not be its entry's."""
    for index, entry in enumerate(data.get("vms", [])):
        if isinstance(entry, dict) and entry.get("id") == policy.id:
            if "account" in entry:
                return ("vms", index, "account")
            if "account" in (data.get("defaults") or {}):
                return ("defaults", "account")
            return ("vms", index)
    return ("vms", fallback)


def check_token_file(path: Path, key_path: KeyPath, report: Reporter) -> None:
    """A token file named in the policy must be readable now, not at the first slot."""
    try:
        if not path.exists():
            report(key_path, f"{path}: file not found")
        elif not path.is_file():
            report(key_path, f"{path}: not a regular file")
        elif not os.access(path, os.R_OK):
            report(key_path, f"{path}: permission denied")
    except (OSError, ValueError) as error:  # a name too long, a NUL byte
        report(key_path, f"cannot be checked: {os_reason(error)}")


def os_reason(error: OSError | ValueError) -> str:
    """The lower-case reason of an OS error, or the text of a ``ValueError``."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error)
