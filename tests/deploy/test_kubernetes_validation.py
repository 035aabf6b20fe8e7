"""Both kustomize trees, rendered by a real kustomize, against the Kubernetes API's schemas.

``kubernetes-validate --strict`` knows the built-in kinds only: it checks every object
but the Prometheus Operator's ServiceMonitor and PrometheusRule, for which it has no
schema. Those two are checked by what reads them: the rule's groups with ``promtool check
rules``, the ServiceMonitor's fields by tests/deploy/test_kubernetes.py (and the job it
yields by tests/deploy/test_down_alerts.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.rendering import find, render, render_text
from tests.deploy.support import DEPLOY
from tests.support.tools import promtool, tool

TREES = [DEPLOY / "kubernetes", DEPLOY / "kubernetes-ha"]
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}

pytestmark = pytest.mark.tools


@pytest.mark.parametrize("tree", TREES, ids=lambda tree: tree.name)
def test_every_rendered_object_of_a_built_in_kind_passes_strict_validation(
    tree: Path, tmp_path: Path
) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(render_text(tree), encoding="utf-8")
    result = subprocess.run(
        [tool("kubernetes-validate", "the test extra"), "--strict", str(rendered)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    for item in render(tree):
        kind, name = item["kind"], item["metadata"]["name"]
        if kind in CUSTOM_KINDS:
            assert f"Couldn't find schema for kind {kind}" in printed
        else:
            assert f"passed for resource {kind.lower()}/{name} " in printed, (kind, name)


@pytest.mark.parametrize("tree", TREES, ids=lambda tree: tree.name)
def test_the_rendered_prometheus_rule_passes_promtool(tree: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    spec = find(render(tree), "PrometheusRule")["spec"]
    rules.write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert "SUCCESS" in promtool("check", "rules", str(rules))
