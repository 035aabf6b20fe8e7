"""Helpers of the simulation tests: a policy, a faults file, a run through the command line."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from snapd.cli.dispatch import main

POLICY = """
api:
  base_url: https://developers.hostinger.com
defaults:
  schedule: "0 3 * * *"
vms:
  - id: 1001
    name: web
    health_check:
      url: https://web.example.com/healthz
  - id: 1002
    name: db
"""


@dataclass
class Run:
    code: int
    output: str
    errors: str

    @property
    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.output)
        return loaded

    def gaps(self, vm: int) -> list[dict[str, str]]:
        """The VM's intervals without a restore point within its RPO."""
        for row in self.report["virtual_machines"]:
            if row["vm"] == vm:
                gaps: list[dict[str, str]] = row["intervals_without_restore_point"]
                return gaps
        raise AssertionError(f"vm {vm} is not in the report")

    @property
    def rules(self) -> list[str]:
        return [breach["rule"] for breach in self.report["breaches"]]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def simulate(
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    *arguments: str,
    policy: str = POLICY,
    faults: str | None = None,
) -> Run:
    """``snapd simulate --json`` on ``policy`` (and ``faults``, a YAML list, if given)."""
    command = ["simulate", "-c", str(write(folder, "policy.yaml", policy)), "--json", *arguments]
    if faults is not None:
        command += ["--faults", str(write(folder, "faults.yaml", faults))]
    code = main(command)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)
