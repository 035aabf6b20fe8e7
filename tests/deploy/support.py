"""What the deployment tests share: the stop bound, file locations, tools, small parsers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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
