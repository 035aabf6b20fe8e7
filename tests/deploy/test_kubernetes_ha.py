"""The two-replica Kubernetes variant: the base, with a PostgreSQL ledger and one leader."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from snapd.config.credentials import CONTAINER_SECRET
from tests.deploy.kustomize import find, render
from tests.deploy.support import (
    DEPLOY,
    METRICS_PORT,
    STATE_DIR,
    STOP_TIMEOUT_SECONDS,
    load_replicated_policy,
    load_yaml,
)

OVERLAY = DEPLOY / "kubernetes-ha"
BASE = DEPLOY / "kubernetes"
RESOURCES = render(OVERLAY)
DEPLOYMENT = find(RESOURCES, "Deployment", "hostinger-snapd")
POD = DEPLOYMENT["spec"]["template"]["spec"]
(CONTAINER,) = POD["containers"]
POD_LABELS = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]


def kinds(resources: list[dict[str, Any]]) -> set[str]:
    return {item["kind"] for item in resources}


def mounts() -> dict[str, dict[str, Any]]:
    """Each volume of the pod by the path the container mounts it on."""
    volumes = {volume["name"]: volume for volume in POD["volumes"]}
    return {mount["mountPath"]: volumes[mount["name"]] for mount in CONTAINER["volumeMounts"]}


def policy_text() -> str:
    config_map = find(RESOURCES, "ConfigMap", "hostinger-snapd-config")
    assert mounts()["/etc/snapd"]["configMap"]["name"] == config_map["metadata"]["name"]
    text: str = config_map["data"]["config.yaml"]
    return text


def test_the_variant_is_the_base_with_a_disruption_budget_and_without_a_volume_claim() -> None:
    assert load_yaml(OVERLAY / "kustomization.yaml")["resources"][0] == "../kubernetes"
    assert kinds(RESOURCES) == kinds(render(BASE)) - {"PersistentVolumeClaim"} | {
        "PodDisruptionBudget"
    }
    assert {item["metadata"]["namespace"] for item in RESOURCES if item["kind"] != "Namespace"} == {
        "hostinger-snapd"
    }


def test_two_replicas_roll_one_at_a_time_because_the_lock_decides_who_acts() -> None:
    spec = DEPLOYMENT["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["type"] == "RollingUpdate"
    # One pod replaced at a time, never a third: the other one stays running throughout.
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert POD["terminationGracePeriodSeconds"] > STOP_TIMEOUT_SECONDS


def test_the_base_still_runs_exactly_one_replica_recreated() -> None:
    base = find(render(BASE), "Deployment", "hostinger-snapd")
    assert base["spec"]["replicas"] == 1
    assert base["spec"]["strategy"] == {"type": "Recreate"}


def test_a_drain_keeps_one_replica_running() -> None:
    budget = find(RESOURCES, "PodDisruptionBudget", "hostinger-snapd")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= POD_LABELS.items()
    assert budget["spec"]["selector"] == DEPLOYMENT["spec"]["selector"]


def test_the_two_replicas_never_share_a_node() -> None:
    (term,) = POD["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= POD_LABELS.items()


def test_a_standby_is_ready_so_probes_are_the_bases() -> None:
    # /readyz answers 200 with "standby" on the replica without the lock: a rollout waits
    # for the new pod to be Ready, and a standby that never became Ready would stall it.
    port = CONTAINER["ports"][0]
    assert port["containerPort"] == METRICS_PORT
    assert CONTAINER["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert CONTAINER["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}


def test_state_dir_is_the_pods_own_empty_dir_and_no_claim_is_left() -> None:
    assert set(mounts()[STATE_DIR]) == {"name", "emptyDir"}
    assert all("persistentVolumeClaim" not in volume for volume in POD["volumes"])


def test_the_token_and_the_ledger_password_come_from_secrets_by_reference(
    tmp_path: Path,
) -> None:
    assert "Secret" not in kinds(RESOURCES)
    assert "secretGenerator" not in load_yaml(OVERLAY / "kustomization.yaml")
    assert "env" not in CONTAINER and "envFrom" not in CONTAINER
    projected = mounts()[str(CONTAINER_SECRET.parent)]["projected"]
    files = {
        f"{CONTAINER_SECRET.parent}/{item['path']}": source["secret"]["name"]
        for source in projected["sources"]
        for item in source["secret"]["items"]
    }
    _, ledger = load_replicated_policy(policy_text(), tmp_path)
    assert files == {
        str(CONTAINER_SECRET): "hostinger-snapd-token",
        ledger["password_file"]: "hostinger-snapd-ledger",
    }
    assert projected["defaultMode"] == 0o400


def test_the_replicated_policy_is_valid_and_serves_metrics_to_the_pod_network(
    tmp_path: Path,
) -> None:
    config, _ = load_replicated_policy(policy_text(), tmp_path)
    assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", METRICS_PORT)
    assert str(config.state_dir) == STATE_DIR
    base_text = find(render(BASE), "ConfigMap", "hostinger-snapd-config")["data"]["config.yaml"]
    # The same policy as the base's apart from the ledger section.
    replicated = yaml.safe_load(policy_text())
    del replicated["ledger"]
    assert replicated == yaml.safe_load(base_text)


def test_the_rendering_matches_kubectl_kustomize() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; tests/deploy/kustomize.py renders alone")
    result = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rendered = [item for item in yaml.safe_load_all(result.stdout) if item]
    assert {(item["kind"], item["metadata"]["name"]) for item in rendered} == {
        (item["kind"], item["metadata"]["name"]) for item in RESOURCES
    }
    for kind, name in [
        ("Deployment", "hostinger-snapd"),
        ("PodDisruptionBudget", "hostinger-snapd"),
    ]:
        assert find(rendered, kind, name)["spec"] == find(RESOURCES, kind, name)["spec"]
    config_map = ("ConfigMap", "hostinger-snapd-config")
    assert find(rendered, *config_map)["data"] == find(RESOURCES, *config_map)["data"]
