"""Each shipped setup's snapd goes down, or vanishes, and the alerts fire, in promtool.

The job names and instances come from the setups themselves, never from this file:
compose's are what Prometheus would discover from prometheus.yml in each profile,
Kubernetes' the job the Prometheus Operator derives from the ServiceMonitor and Service
that ``kubectl kustomize`` renders. The promtool unit tests are written into tmp_path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.compose import SERVICES, scrape_targets
from tests.deploy.rendering import render, scrape_job
from tests.deploy.support import DEPLOY, METRICS_PORT
from tests.support.alert_files import RULES, alert_rules
from tests.support.tools import promtool

pytestmark = pytest.mark.tools

# A pod's address: the Prometheus Operator scrapes the Service's endpoints.
POD_INSTANCE = f"10.0.0.7:{METRICS_PORT}"
LABEL = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")


def compose_setup(*profiles: str | None) -> list[tuple[str, str]]:
    """The targets of the snapd services of these profiles (None: of no profile)."""
    return sorted(
        (job, instance)
        for profile in profiles
        for job, instance, service in scrape_targets(profile)
        if SERVICES[service].get("profiles", [None])[0] == profile
    )


def kubernetes_setup(tree: str) -> list[tuple[str, str]]:
    return [(scrape_job(render(DEPLOY / tree)), POD_INSTANCE)]


SETUPS = {
    "compose single": lambda: compose_setup(None),
    "compose demo": lambda: compose_setup("demo"),
    "compose HA": lambda: compose_setup("ha", "ha-demo"),
    "Kubernetes": lambda: kubernetes_setup("kubernetes"),
    "Kubernetes HA": lambda: kubernetes_setup("kubernetes-ha"),
}


def rule(name: str) -> dict[str, Any]:
    (found,) = [item for item in alert_rules() if item["alert"] == name]
    return found


def expected_alert(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """The alert ``name`` as promtool reports it for a series with ``labels``: the
    rule's labels added, its annotations' ``{{ $labels.x }}`` filled in."""
    definition = rule(name)
    annotations = {}
    for key, template in definition["annotations"].items():
        text = LABEL.sub(lambda match: labels[match.group(1)], template)
        assert "{{" not in text, f"{name}: a template this test cannot fill: {text}"
        annotations[key] = text
    return {"exp_labels": {**labels, **definition["labels"]}, "exp_annotations": annotations}


def unit_tests(targets: list[tuple[str, str]]) -> dict[str, Any]:
    """promtool unit tests: every target of the setup goes down; then they all vanish."""
    up = [f'up{{job="{job}", instance="{instance}"}}' for job, instance in targets]
    other = {"series": 'up{job="node", instance="host:9100"}', "values": "1x40"}
    down = [{"series": series, "values": "1 0x20"} for series in up]
    gone = [{"series": series, "values": "1 1 _x30"} for series in up]
    firing = [expected_alert("SnapdDown", {"job": job, "instance": i}) for job, i in targets]
    return {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "down",
                "interval": "1m",
                "input_series": [*down, other],
                "alert_rule_test": [
                    {"eval_time": "3m", "alertname": "SnapdDown"},
                    {"eval_time": "10m", "alertname": "SnapdDown", "exp_alerts": firing},
                    {"eval_time": "10m", "alertname": "SnapdNotScraped"},
                ],
            },
            {
                "name": "gone",
                "interval": "1m",
                "input_series": [*gone, other],
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": "SnapdNotScraped"},
                    {
                        "eval_time": "15m",
                        "alertname": "SnapdNotScraped",
                        "exp_alerts": [expected_alert("SnapdNotScraped", {})],
                    },
                    {"eval_time": "15m", "alertname": "SnapdDown"},
                ],
            },
        ],
    }


@pytest.mark.parametrize("setup", SETUPS)
def test_snapd_down_fires_for_every_target_of_the_setup_and_not_scraped_when_all_vanish(
    setup: str, tmp_path: Path
) -> None:
    targets = SETUPS[setup]()
    assert targets, f"{setup}: Prometheus would find no snapd to scrape"
    tests = tmp_path / "down.test.yaml"
    tests.write_text(yaml.safe_dump(unit_tests(targets), sort_keys=False), encoding="utf-8")
    assert "SUCCESS" in promtool("test", "rules", str(tests))
