"""What the deployment tests share: the stop bound, file locations, tools, small parsers."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from snapd.config import Config, load_config
from tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"

# snapd exits within its stop_timeout (10s by default) after SIGTERM. Every supervisor's
# stop bound (TimeoutStopSec=, stop_grace_period, terminationGracePeriodSeconds) must stay
# above it; the tests compare them with this one figure.
STOP_TIMEOUT_SECONDS = 10

# What a container's state and metrics are, wherever snapd runs in one.
STATE_DIR = "/var/lib/snapd"
METRICS_PORT = 9891


def load_yaml(path: Path) -> Any:
    """One YAML document."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> list[Any]:
    """Every YAML document of a file, empty ones left out."""
    text = path.read_text(encoding="utf-8")
    return [document for document in yaml.safe_load_all(text) if document is not None]


def seconds(text: str) -> float:
    """A systemd or compose time span such as ``20s``, ``1min 30s`` or ``90`` in seconds."""
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    total = 0.0
    for part in text.replace(" ", "\n").split():
        number = part.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = part[len(number) :] or "s"
        total += float(number) * units[unit]
    return total


# The ledger section of a replicated policy: PostgreSQL, its password in a file.
LEDGER_KEYS = {"backend", "dsn", "password_file"}


def load_replicated_policy(text: str, folder: Path) -> tuple[Config, dict[str, Any]]:
    """A policy with ``ledger.backend: postgresql``, loaded, and its ledger section.

    The section must name PostgreSQL and a DSN without a password; a password file, if
    named, by an absolute path. A
    snapd whose policy has no ledger section yet checks the rest of the file, so the
    deployment files can be held to account before the PostgreSQL ledger is merged.
    """
    document = yaml.safe_load(text)
    ledger = document["ledger"]
    assert set(ledger) <= LEDGER_KEYS and ledger["backend"] == "postgresql"
    dsn = urlsplit(ledger["dsn"])
    assert dsn.scheme == "postgresql" and dsn.hostname and dsn.password is None
    assert "password" not in parse_qs(dsn.query)
    assert ledger.get("password_file", "/").startswith("/")
    if "ledger" not in {field.name for field in fields(Config)}:
        del document["ledger"]
        text = yaml.safe_dump(document)
    policy = folder / "config.yaml"
    policy.write_text(text, encoding="utf-8")
    return load_config(policy), ledger
