"""The alerting and dashboard files under deploy/, and promtool, for the tests."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from snapd.metrics import Metrics
from tests.conftest import PROJECT_ROOT

RULES = PROJECT_ROOT / "deploy" / "prometheus" / "snapd.rules.yaml"
RULE_TESTS = PROJECT_ROOT / "deploy" / "prometheus" / "snapd.rules.test.yaml"
PROMETHEUS_RULE = PROJECT_ROOT / "deploy" / "kubernetes" / "prometheusrule.yaml"
DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "snapd-dashboard.json"
README = PROJECT_ROOT / "README.md"
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
# Where the README is published when pyproject.toml names no project URL.
REPOSITORY_URL = "https://github.com/hostinger-snapd/hostinger-snapd"
# What replicas on a PostgreSQL ledger export about their role and their ledger. The rules
# name them before snapd's Metrics declares them; from the moment it declares any of them,
# every one is checked like all other names (tests/metrics/test_alerts.py).
LEADERSHIP_METRICS = frozenset(
    {"snapd_leader", "snapd_leader_changes_total", "snapd_ledger_errors_total"}
)

PROMETHEUS_RULE_HEADER = """\
# The snapd alerts for the Prometheus Operator. Its spec is a copy of the groups in
# deploy/prometheus/snapd.rules.yaml, the source of truth; tests/metrics/test_alerts.py fails when
# the two differ and prints this file as it should read.
"""


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of snapd.rules.yaml."""
    return [
        rule for group in load_yaml(RULES)["groups"] for rule in group["rules"] if "alert" in rule
    ]


def readme_url() -> str:
    """The published README that every ``runbook_url`` points into: pyproject.toml's
    ``project.urls`` Documentation (its fragment left off), else ``REPOSITORY_URL``."""
    with PYPROJECT.open("rb") as file:
        urls = tomllib.load(file)["project"].get("urls", {})
    url: str = urls.get("Documentation", REPOSITORY_URL)
    return url.split("#", 1)[0]


JOB_MATCHER = re.compile(r'\bjob(=~|=)"([^"]*)"')


def selected_jobs(expression: str) -> set[str]:
    """The job names an expression's ``job="x"`` or ``job=~"x|y"`` matchers select; a
    regular expression must be a plain list of names, so that it can be enumerated."""
    jobs: set[str] = set()
    for operator, value in JOB_MATCHER.findall(expression):
        names = value.split("|") if operator == "=~" else [value]
        assert all(re.fullmatch(r"[\w-]+", name) for name in names), value
        jobs.update(names)
    return jobs


def exported_metric_names() -> set[str]:
    """Every series name snapd's exposition can contain (histogram parts included)."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


class _BlockDumper(yaml.SafeDumper):
    pass


class _Literal(str):
    """A multi-line string written as a YAML block, so the rendered rules stay readable."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


def _blocks(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _blocks(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blocks(item) for item in value]
    if isinstance(value, str) and "\n" in value:
        return _Literal(value)
    return value


_BlockDumper.add_representer(_Literal, _literal)


def render_prometheus_rule() -> str:
    """deploy/kubernetes/prometheusrule.yaml as it follows from snapd.rules.yaml."""
    document = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "snapd",
            "labels": {"app.kubernetes.io/name": "snapd", "app.kubernetes.io/component": "alerts"},
        },
        "spec": _blocks(load_yaml(RULES)),
    }
    return PROMETHEUS_RULE_HEADER + yaml.dump(
        document, Dumper=_BlockDumper, sort_keys=False, width=100, allow_unicode=True
    )
