"""The alert rules: promtool checks and unit-tests them, and they match what snapd exports."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.alert_files import (
    LEADERSHIP_METRICS,
    PROMETHEUS_RULE,
    README,
    RULE_TESTS,
    RULES,
    alert_rules,
    exported_metric_names,
    load_yaml,
    readme_url,
    render_prometheus_rule,
)
from tests.support.tools import promtool

REQUIRED_ALERTS = {
    "SnapdDown",
    "SnapdRestorePointTooOld",
    "SnapdNoRestorePoint",
    "SnapdSnapshotFailing",
    "SnapdSnapshotExpiringSoon",
    "SnapdHoldOutlivesSnapshot",
    "SnapdApiRateLimited",
    "SnapdAuthenticationFailing",
    "SnapdConfigReloadFailed",
    "SnapdAmbiguousCreate",
}
METRIC_NAME = re.compile(r"\b(snapd_[a-z_]+)\b")


def readme_anchors() -> set[str]:
    """GitHub's anchors of the README's headings."""
    anchors = set()
    fenced = False
    for line in README.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        if line.startswith("#") and not fenced:
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.tools
def test_promtool_accepts_the_rule_file() -> None:
    printed = promtool("check", "rules", str(RULES))
    assert f"SUCCESS: {len(alert_rules())} rules found" in printed


@pytest.mark.tools
def test_every_rule_unit_test_passes() -> None:
    assert "SUCCESS" in promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)


def test_the_rule_file_has_every_alert_the_issue_asks_for() -> None:
    assert {rule["alert"] for rule in alert_rules()} >= REQUIRED_ALERTS


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
def test_every_alert_has_a_severity_a_summary_a_description_and_a_runbook_in_the_readme(
    rule: dict[str, Any],
) -> None:
    assert rule["labels"]["severity"] in ("critical", "warning")
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"]
    document, _, anchor = annotations["runbook_url"].partition("#")
    assert document == readme_url()
    assert anchor == rule["alert"].lower()
    assert anchor in readme_anchors()


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
def test_every_alert_is_tested_firing_and_not_firing(rule: dict[str, Any]) -> None:
    checks = [
        check
        for test in load_yaml(RULE_TESTS)["tests"]
        for check in test.get("alert_rule_test", [])
        if check["alertname"] == rule["alert"]
    ]
    assert any(check.get("exp_alerts") for check in checks), "never tested firing"
    assert any(not check.get("exp_alerts") for check in checks), "never tested silent"


def test_the_rules_name_only_metrics_snapd_exports() -> None:
    exported = exported_metric_names()
    if not exported & LEADERSHIP_METRICS:  # the leadership code is not there yet
        exported |= LEADERSHIP_METRICS
    for rule in alert_rules():
        named = set(METRIC_NAME.findall(rule["expr"]))
        assert named <= exported, f"{rule['alert']}: {sorted(named - exported)}"


def test_the_kubernetes_prometheus_rule_carries_the_same_groups_as_the_rule_file() -> None:
    expected = render_prometheus_rule()
    assert load_yaml(PROMETHEUS_RULE)["spec"] == load_yaml(RULES), (
        f"{PROMETHEUS_RULE} differs from {RULES}; it should read:\n{expected}"
    )
    assert PROMETHEUS_RULE.read_text(encoding="utf-8") == expected
