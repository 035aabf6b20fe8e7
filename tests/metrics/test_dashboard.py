"""The Grafana dashboard: importable, every expression parses and names only snapd's metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from tests.support.alert_files import DASHBOARD, exported_metric_names
from tests.support.tools import promtool

METRIC_NAME = re.compile(r"\b(snapd_[a-z_]+)\b")
#: What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1d",
    "$job": ".+",
    "$vm": ".+",
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels() -> list[dict[str, Any]]:
    found = []
    for panel in dashboard()["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def expressions() -> list[str]:
    """Every PromQL expression of every panel, with Grafana's variables substituted."""
    found = []
    for panel in panels():
        for target in panel.get("targets", []):
            expression = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expression = expression.replace(variable, value)
            found.append(expression)
    return found


def test_the_dashboard_has_a_datasource_variable_and_no_hard_coded_data_source_uid() -> None:
    loaded = dashboard()
    variables = {item["name"]: item for item in loaded["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    uids = re.findall(r'"uid":\s*"([^"]*)"', DASHBOARD.read_text(encoding="utf-8"))
    assert uids.pop(0) == loaded["uid"]  # the dashboard's own, first
    assert uids and set(uids) == {"${datasource}"}
    assert loaded["schemaVersion"] >= 36  # current Grafana imports it without migration


def test_every_panel_queries_through_the_datasource_variable() -> None:
    for panel in panels():
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_the_dashboard_shows_what_an_operator_needs() -> None:
    named = {name for expression in expressions() for name in METRIC_NAME.findall(expression)}
    assert named >= {
        "snapd_snapshot_created_timestamp_seconds",
        "snapd_policy_rpo_seconds",
        "snapd_snapshot_expiry_timestamp_seconds",
        "snapd_snapshot_attempts_total",
        "snapd_snapshot_skips_total",
        "snapd_api_requests_total",
        "snapd_api_request_duration_seconds_bucket",
        "snapd_next_run_timestamp_seconds",
        "snapd_hold_active",
        "snapd_snapshot_last_duration_seconds",
        "snapd_snapshot_duration_seconds_bucket",
        "snapd_leader_changes_total",
        "snapd_ledger_errors_total",
    }


def test_the_dashboard_has_a_fixed_uid_so_that_links_to_it_survive_a_new_import() -> None:
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard().get("uid") or "")


def test_the_dashboard_names_only_metrics_snapd_exports() -> None:
    exported = exported_metric_names()
    for expression in expressions():
        unknown = set(METRIC_NAME.findall(expression)) - exported
        assert not unknown, f"{expression}: {sorted(unknown)}"


@pytest.mark.tools
def test_every_dashboard_expression_parses_with_promtool(tmp_path: Path) -> None:
    rules = [
        {"record": f"dashboard:expression_{index}", "expr": expression}
        for index, expression in enumerate(expressions())
    ]
    rule_file = tmp_path / "dashboard.rules.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in promtool("check", "rules", str(rule_file))


def test_the_demo_profile_runs_grafana_provisioned_with_prometheus_and_the_dashboard() -> None:
    services = yaml.safe_load((PROJECT_ROOT / "deploy" / "docker-compose.yaml").read_text())
    grafana = services["services"]["grafana"]
    assert grafana["profiles"] == ["demo"]
    mounted = {
        target: source for source, target, *_ in (item.split(":") for item in grafana["volumes"])
    }
    assert mounted["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provisioning = PROJECT_ROOT / "deploy" / "grafana" / "provisioning"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())[
        "datasources"
    ]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    host, port = source["url"].removeprefix("http://").split(":")
    prometheus = services["services"][host]
    assert "profiles" not in prometheus and f"127.0.0.1:{port}:{port}" in prometheus["ports"]
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "snapd.yaml").read_text())[
        "providers"
    ]
    dashboard_path = f"{provider['options']['path']}/{DASHBOARD.name}"
    assert mounted[dashboard_path] == f"./grafana/{DASHBOARD.name}"
