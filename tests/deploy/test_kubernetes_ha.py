"""The two-replica Kubernetes variant: the base, with a PostgreSQL ledger and one leader."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from snapd.config.credentials import CONTAINER_SECRET
from tests.deploy.rendering import find, render, scrape_job
from tests.deploy.support import (
    DEPLOY,
    METRICS_PORT,
    STATE_DIR,
    STOP_TIMEOUT_SECONDS,
    load_replicated_policy,
    load_yaml,
)
from tests.support.alert_files import alert_rules, selected_jobs

OVERLAY = DEPLOY / "kubernetes-ha"
BASE = DEPLOY / "kubernetes"

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return render(OVERLAY)


@pytest.fixture(scope="module")
def deployment(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return find(resources, "Deployment", "hostinger-snapd")


@pytest.fixture(scope="module")
def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    (found,) = pod["containers"]
    return found  # type: ignore[no-any-return]


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def kinds(resources: list[dict[str, Any]]) -> set[str]:
    return {item["kind"] for item in resources}


def mounts(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each volume of the pod by the path the container mounts it on."""
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    (container,) = pod["containers"]
    return {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}


def policy_text(resources: list[dict[str, Any]], pod: dict[str, Any]) -> str:
    config_map = find(resources, "ConfigMap")
    assert mounts(pod)["/etc/snapd"]["configMap"]["name"] == config_map["metadata"]["name"]
    text: str = config_map["data"]["config.yaml"]
    return text


def test_the_variant_is_the_base_with_a_disruption_budget_and_without_a_volume_claim(
    resources: list[dict[str, Any]],
) -> None:
    assert load_yaml(OVERLAY / "kustomization.yaml")["resources"][0] == "../kubernetes"
    assert kinds(resources) == kinds(render(BASE)) - {"PersistentVolumeClaim"} | {
        "PodDisruptionBudget"
    }
    namespaces = {
        item["metadata"]["namespace"] for item in resources if item["kind"] != "Namespace"
    }
    assert namespaces == {"hostinger-snapd"}


def test_two_replicas_roll_one_at_a_time_because_the_lock_decides_who_acts(
    deployment: dict[str, Any], pod: dict[str, Any]
) -> None:
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["type"] == "RollingUpdate"
    # One pod replaced at a time, never a third: the other one stays running throughout.
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert pod["terminationGracePeriodSeconds"] > STOP_TIMEOUT_SECONDS


def test_the_base_still_runs_exactly_one_replica_recreated() -> None:
    base = find(render(BASE), "Deployment", "hostinger-snapd")
    assert base["spec"]["replicas"] == 1
    assert base["spec"]["strategy"] == {"type": "Recreate"}


def test_a_drain_keeps_one_replica_running(
    resources: list[dict[str, Any]], deployment: dict[str, Any]
) -> None:
    budget = find(resources, "PodDisruptionBudget", "hostinger-snapd")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels(deployment).items()
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]


def test_the_two_replicas_never_share_a_node(
    deployment: dict[str, Any], pod: dict[str, Any]
) -> None:
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= pod_labels(deployment).items()


def test_a_standby_is_ready_so_probes_are_the_bases(container: dict[str, Any]) -> None:
    # /readyz answers 200 with "standby" on the replica without the lock: a rollout waits
    # for the new pod to be Ready, and a standby that never became Ready would stall it.
    port = container["ports"][0]
    assert port["containerPort"] == METRICS_PORT
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}


def test_state_dir_is_the_pods_own_empty_dir_and_no_claim_is_left(pod: dict[str, Any]) -> None:
    assert set(mounts(pod)[STATE_DIR]) == {"name", "emptyDir"}
    assert all("persistentVolumeClaim" not in volume for volume in pod["volumes"])


def test_the_token_and_the_ledger_password_come_from_secrets_by_reference(
    resources: list[dict[str, Any]], pod: dict[str, Any], container: dict[str, Any], tmp_path: Path
) -> None:
    assert "Secret" not in kinds(resources)
    assert "secretGenerator" not in load_yaml(OVERLAY / "kustomization.yaml")
    assert "env" not in container and "envFrom" not in container
    projected = mounts(pod)[str(CONTAINER_SECRET.parent)]["projected"]
    files = {
        f"{CONTAINER_SECRET.parent}/{item['path']}": source["secret"]["name"]
        for source in projected["sources"]
        for item in source["secret"]["items"]
    }
    _, ledger = load_replicated_policy(policy_text(resources, pod), tmp_path)
    assert files == {
        str(CONTAINER_SECRET): "hostinger-snapd-token",
        ledger["password_file"]: "hostinger-snapd-ledger",
    }
    # Group-readable for fsGroup, the group snapd runs as (tests/deploy/test_kubernetes.py).
    assert projected["defaultMode"] == 0o440
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]


def test_the_replicated_policy_is_valid_and_serves_metrics_to_the_pod_network(
    resources: list[dict[str, Any]], pod: dict[str, Any], tmp_path: Path
) -> None:
    config, _ = load_replicated_policy(policy_text(resources, pod), tmp_path)
    assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", METRICS_PORT)
    assert str(config.state_dir) == STATE_DIR
    base_text = find(render(BASE), "ConfigMap")["data"]["config.yaml"]
    # The same policy as the base's apart from the ledger section.
    replicated = yaml.safe_load(policy_text(resources, pod))
    del replicated["ledger"]
    assert replicated == yaml.safe_load(base_text)


def test_the_replicas_reach_the_database_port_of_their_policy_through_the_network_policy(
    resources: list[dict[str, Any]], pod: dict[str, Any], tmp_path: Path
) -> None:
    _, ledger = load_replicated_policy(policy_text(resources, pod), tmp_path)
    database_port = urlsplit(ledger["dsn"]).port or 5432
    policy = find(resources, "NetworkPolicy")["spec"]
    ports = {
        (port["protocol"], port["port"]) for rule in policy["egress"] for port in rule["ports"]
    }
    assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", database_port)}
    base = find(render(BASE), "NetworkPolicy")["spec"]
    assert policy["ingress"] == base["ingress"]


def test_the_replicas_are_scraped_under_the_job_every_down_alert_selects(
    resources: list[dict[str, Any]],
) -> None:
    job = scrape_job(resources)
    for rule in alert_rules():
        if rule["alert"] in ("SnapdDown", "SnapdNotScraped"):
            assert job in selected_jobs(rule["expr"]), rule["alert"]
