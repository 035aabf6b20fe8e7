"""The Alertmanager example: amtool accepts it, routes every snapd alert by its severity to
a webhook, and the compose stack runs it where Prometheus sends its alerts.

amtool comes from Debian's ``prometheus-alertmanager`` package, which ``.ci/run`` installs.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.deploy.compose import SERVICES, mounts
from tests.deploy.support import DEPLOY, load_yaml
from tests.support.alert_files import alert_rules
from tests.support.tools import tool

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
PACKAGE = "Debian's prometheus-alertmanager package"
RECEIVERS = {"critical": "snapd-critical", "warning": "snapd-warning"}


def amtool(*arguments: str) -> str:
    """Run ``amtool`` with ``arguments``; assert that it succeeded and return its output."""
    result = subprocess.run(
        [tool("amtool", PACKAGE), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.tools
def test_amtool_accepts_the_alertmanager_example() -> None:
    assert "SUCCESS" in amtool("check-config", str(CONFIG))


@pytest.mark.tools
@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
def test_amtool_routes_every_snapd_alert_to_the_receiver_of_its_severity(
    rule: dict[str, Any],
) -> None:
    severity = rule["labels"]["severity"]
    labels = [f"alertname={rule['alert']}", f"severity={severity}", "job=snapd"]
    receiver = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels).strip()
    assert receiver == RECEIVERS[severity]


def test_every_receiver_is_a_webhook_that_also_says_when_an_alert_resolves() -> None:
    receivers = {receiver["name"]: receiver for receiver in load_yaml(CONFIG)["receivers"]}
    assert set(receivers) == set(RECEIVERS.values())
    for receiver in receivers.values():
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"].startswith("http") and webhook["send_resolved"] is True


def test_compose_runs_alertmanager_with_the_example_in_every_profile() -> None:
    service = SERVICES["alertmanager"]
    assert "profiles" not in service
    config_file = next(
        argument.split("=", 1)[1]
        for argument in service["command"]
        if argument.startswith("--config.file=")
    )
    folder, name = config_file.rsplit("/", 1)
    assert mounts("alertmanager")[folder] == "./alertmanager" and name == CONFIG.name
