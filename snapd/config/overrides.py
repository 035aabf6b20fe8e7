"""Command-line values that win over the policy's: ``--state-dir`` and ``--metrics-listen``.

They let two replicas run from one policy file on one host (each its own state folder and
metrics port). ``load_config`` applies them before it checks this machine, so that a
problem with an overriding value is reported against the option that gave it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from snapd.config.model import Config, MetricsSettings
from snapd.config.yaml_source import KeyPath

STATE_DIR_OPTION = "--state-dir"
METRICS_LISTEN_OPTION = "--metrics-listen"


def metrics_settings(listen: str) -> MetricsSettings:
    """``HOST:PORT`` (``[::1]:9891`` for IPv6; an empty host is every address) as settings;
    ``listen`` must have passed the ``listen-address`` format check."""
    host, _, port = listen.rpartition(":")
    return MetricsSettings(host=host.strip("[]") or "0.0.0.0", port=int(port))


@dataclass(frozen=True)
class Overrides:
    """What the command line sets in place of the policy; None leaves the policy's value.

    ``state_dir`` is taken as given (a relative path is read from the current folder, as
    any path on a command line is), not beside the policy file as the policy's own is.
    """

    state_dir: Path | None = None
    metrics_listen: str | None = None

    def options(self) -> dict[KeyPath, str]:
        """The policy keys these values replace, each with the option that gave it."""
        chosen: dict[KeyPath, str] = {}
        if self.state_dir is not None:
            chosen[("state_dir",)] = STATE_DIR_OPTION
        if self.metrics_listen is not None:
            chosen[("metrics", "listen")] = METRICS_LISTEN_OPTION
        return chosen

    def apply(self, config: Config) -> Config:
        """``config`` with these values in place of the policy's."""
        if not self.options():
            return config
        state_dir = self.state_dir if self.state_dir is not None else config.state_dir
        metrics = config.metrics
        if self.metrics_listen is not None:
            metrics = metrics_settings(self.metrics_listen)
        return dataclasses.replace(
            config, state_dir=state_dir, metrics=metrics, command_line=self.options()
        )
