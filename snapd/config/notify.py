"""The ``notify`` key of the policy (in ``defaults`` or per VM): schema, model, checks.

Notification URLs are secrets (a ping URL is all it takes to silence a dead man's switch,
a chat webhook URL to post into the channel): ``public_url`` reduces one to its scheme and
host for logs and ``config show``, and no error message here repeats a URL.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from snapd.config.addresses import is_loopback
from snapd.config.durations import DURATION_PATTERN, format_duration, parse_duration
from snapd.config.masking import public_url

KeyPath = tuple[str | int, ...]
Reporter = Callable[[KeyPath, str], None]

#: What a webhook can subscribe to with ``on``.
WEBHOOK_EVENTS = ("failure", "skip", "success", "expiring", "hold_expiring")
WEBHOOK_FORMATS = ("json", "slack")
#: The placeholders a URL may contain, filled in per VM.
URL_PLACEHOLDERS = frozenset({"vm_id", "vm_name"})
DEFAULT_TIMEOUT = timedelta(seconds=10)

_TIMEOUT = {
    "type": "string",
    "format": "duration",
    "pattern": DURATION_PATTERN,
    "default": "10s",
    "description": "One attempt's timeout, in total (connect, send, read at most 64 KiB of "
    "the answer), however slowly the receiver answers; up to 3 attempts with backoff.",
}
_URL = {
    "type": "string",
    "minLength": 1,
    "writeOnly": True,
    "description": "Where to send: https:// (plain http:// only to a loopback host); "
    "{vm_id} and {vm_name} are filled in per VM. A secret: logs and config show reveal "
    "only its scheme and host.",
}

NOTIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "writeOnly": True,
    "description": "Notifications, for those without Prometheus (or as a second channel): "
    "a dead man's switch ping and webhooks. A VM's own notify replaces the one in defaults "
    "as a whole; an empty one ({}) turns it off. Each destination has its own queue and sender, so "
    "a slow receiver delays only its own notifications.",
    "additionalProperties": False,
    "properties": {
        "ping": {
            "type": "object",
            "description": "A dead man's switch (healthchecks-style): URL/start when a slot "
            "begins, URL on a verified snapshot (or a skip that leaves a restore point "
            "younger than the RPO), URL/fail on a failure, an unresolved create, or a skip "
            "that leaves none. Dry runs never ping.",
            "writeOnly": True,
            "additionalProperties": False,
            "required": ["url"],
            "properties": {"url": _URL, "timeout": _TIMEOUT},
        },
        "webhooks": {
            "type": "array",
            "writeOnly": True,
            "description": "POSTs of outcomes, as JSON or as a Slack-compatible message. Dry "
            "runs are marked.",
            "items": {
                "type": "object",
                "writeOnly": True,
                "additionalProperties": False,
                "required": ["url"],
                "properties": {
                    "url": _URL,
                    "on": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"enum": list(WEBHOOK_EVENTS)},
                        "default": ["failure"],
                        "description": "The events to send: " + ", ".join(WEBHOOK_EVENTS) + ".",
                    },
                    "format": {
                        "enum": list(WEBHOOK_FORMATS),
                        "default": "json",
                        "description": 'json, or slack ({"text": ...}, which Slack, '
                        "Mattermost and Rocket.Chat incoming webhooks accept).",
                    },
                    "timeout": _TIMEOUT,
                },
            },
        },
    },
}


@dataclass(frozen=True)
class PingTarget:
    url: str
    timeout: timedelta


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    on: frozenset[str]
    format: str
    timeout: timedelta


@dataclass(frozen=True)
class NotifySettings:
    ping: PingTarget | None
    webhooks: tuple[WebhookTarget, ...]


def expand_url(template: str, virtual_machine_id: int, name: str) -> str:
    """Fill ``{vm_id}`` and ``{vm_name}`` into a URL template (checked at load)."""
    return template.replace("{vm_id}", str(virtual_machine_id)).replace(
        "{vm_name}", quote(name, safe="")
    )


def build_notify(
    raw: dict[str, Any] | None, key_path: KeyPath, report: Reporter
) -> NotifySettings | None:
    """The ``notify`` mapping (already schema-valid) as settings; problems go to ``report``."""
    if not raw:
        return None
    ping = None
    if "ping" in raw:
        ping = PingTarget(
            url=_checked_url(raw["ping"]["url"], (*key_path, "ping", "url"), report),
            timeout=_timeout(raw["ping"], (*key_path, "ping", "timeout"), report),
        )
    webhooks = []
    for index, entry in enumerate(raw.get("webhooks", [])):
        where = (*key_path, "webhooks", index)
        webhooks.append(
            WebhookTarget(
                url=_checked_url(entry["url"], (*where, "url"), report),
                on=frozenset(entry.get("on", ["failure"])),
                format=entry.get("format", "json"),
                timeout=_timeout(entry, (*where, "timeout"), report),
            )
        )
    return NotifySettings(ping=ping, webhooks=tuple(webhooks))


def _checked_url(url: str, key_path: KeyPath, report: Reporter) -> str:
    # The messages never quote the URL: it is a secret.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        report(key_path, "expected an http(s) URL with a host (value not shown: a secret)")
        return url
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        report(
            key_path,
            "plain http to a host that is not loopback would send this secret URL "
            "unencrypted; use https:// (value not shown: a secret)",
        )
        return url
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(url) if field is not None}
    except ValueError:
        report(key_path, "unbalanced { or } in the URL; placeholders are {vm_id} and {vm_name}")
        return url
    unknown = sorted(fields - URL_PLACEHOLDERS)
    if unknown:
        report(key_path, f"unknown placeholder {{{unknown[0]}}}; use {{vm_id}} or {{vm_name}}")
    return url


def _timeout(raw: dict[str, Any], key_path: KeyPath, report: Reporter) -> timedelta:
    if "timeout" not in raw:
        return DEFAULT_TIMEOUT
    timeout = parse_duration(raw["timeout"])
    if timeout <= timedelta(0):
        report(key_path, f"must be longer than 0s, got {raw['timeout']!r}")
    return timeout


def shown(settings: NotifySettings) -> dict[str, Any]:
    """The settings for ``config show``: every URL reduced to its scheme and host."""
    result: dict[str, Any] = {}
    if settings.ping is not None:
        result["ping"] = {
            "url": public_url(settings.ping.url) + "/***",
            "timeout": format_duration(settings.ping.timeout),
        }
    if settings.webhooks:
        result["webhooks"] = [
            {
                "url": public_url(hook.url) + "/***",
                "on": [event for event in WEBHOOK_EVENTS if event in hook.on],
                "format": hook.format,
                "timeout": format_duration(hook.timeout),
            }
            for hook in settings.webhooks
        ]
    return result
