"""The Kubernetes manifests: one scheduler, a restricted pod, probes, the token by reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from snapd import __version__
from snapd.config import load_config
from snapd.config.credentials import CONTAINER_SECRET
from tests.alert_files import alert_rules
from tests.deploy.dockerfile import parse
from tests.deploy.support import (
    DEPLOY,
    METRICS_PORT,
    STATE_DIR,
    STOP_TIMEOUT_SECONDS,
    load_yaml,
    load_yaml_documents,
)

FOLDER = DEPLOY / "kubernetes"
FINAL = parse((DEPLOY.parent / "Dockerfile").read_text(encoding="utf-8"))[1][-1]
KUSTOMIZATION = load_yaml(FOLDER / "kustomization.yaml")
RESOURCES = [
    document
    for name in KUSTOMIZATION["resources"]
    for document in load_yaml_documents(FOLDER / name)
]


def resource(kind: str) -> dict[str, Any]:
    (found,) = [item for item in RESOURCES if item["kind"] == kind]
    return found


DEPLOYMENT = resource("Deployment")
POD = DEPLOYMENT["spec"]["template"]["spec"]
(CONTAINER,) = POD["containers"]


def test_kustomize_applies_every_manifest_in_the_folder() -> None:
    manifests = {path.name for path in FOLDER.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) >= manifests
    for item in RESOURCES:
        assert item["apiVersion"] and item["metadata"]["name"]


def test_exactly_one_scheduler_runs_and_the_old_one_stops_before_the_new_one_starts() -> None:
    assert DEPLOYMENT["spec"]["replicas"] == 1
    assert DEPLOYMENT["spec"]["strategy"] == {"type": "Recreate"}
    comment = (FOLDER / "deployment.yaml").read_text(encoding="utf-8")
    assert "one scheduler" in comment.lower()


def test_the_kubelet_waits_longer_for_a_stop_than_snapd_takes() -> None:
    assert POD["terminationGracePeriodSeconds"] > STOP_TIMEOUT_SECONDS


def test_the_pod_is_restricted_non_root_and_read_only() -> None:
    pod_security = POD["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] != 0
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    container_security = CONTAINER["securityContext"]
    assert container_security["readOnlyRootFilesystem"] is True
    assert container_security["allowPrivilegeEscalation"] is False
    assert container_security["capabilities"] == {"drop": ["ALL"]}
    assert POD["automountServiceAccountToken"] is False


def test_liveness_asks_healthz_and_readiness_asks_readyz() -> None:
    port = CONTAINER["ports"][0]
    assert port["containerPort"] == METRICS_PORT
    assert CONTAINER["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert CONTAINER["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}


def test_the_pod_runs_the_image_of_this_version_as_the_images_own_user() -> None:
    (image,) = KUSTOMIZATION["images"]
    assert image["name"] == CONTAINER["image"].split(":")[0]
    assert image["newTag"] == __version__
    (user,) = FINAL.all("USER")
    assert (
        user.arguments
        == f"{POD['securityContext']['runAsUser']}:{POD['securityContext']['runAsGroup']}"
    )


def test_the_container_has_resource_requests_and_limits() -> None:
    for kind in ("requests", "limits"):
        assert set(CONTAINER["resources"][kind]) == {"cpu", "memory"}


def mounts() -> dict[str, dict[str, Any]]:
    """Each volume of the pod by the path the container mounts it on."""
    volumes = {volume["name"]: volume for volume in POD["volumes"]}
    return {mount["mountPath"]: volumes[mount["name"]] for mount in CONTAINER["volumeMounts"]}


def test_the_token_comes_from_a_secret_that_is_referenced_never_inlined() -> None:
    assert "Secret" not in {item["kind"] for item in RESOURCES}
    assert "secretGenerator" not in KUSTOMIZATION
    secret = mounts()[str(CONTAINER_SECRET.parent)]["secret"]
    assert [item["path"] for item in secret["items"]] == [CONTAINER_SECRET.name]
    assert "env" not in CONTAINER


def test_the_ledger_lives_on_the_persistent_volume_claim() -> None:
    claim = resource("PersistentVolumeClaim")
    volume = mounts()[STATE_DIR]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_the_policy_in_the_config_map_is_valid_and_serves_metrics_to_the_pod_network(
    tmp_path: Path,
) -> None:
    config_map = resource("ConfigMap")
    assert mounts()["/etc/snapd"]["configMap"]["name"] == config_map["metadata"]["name"]
    policy = tmp_path / "config.yaml"
    policy.write_text(config_map["data"]["config.yaml"], encoding="utf-8")
    config = load_config(policy)
    assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", METRICS_PORT)
    assert str(config.state_dir) == STATE_DIR
    assert CONTAINER["args"] == ["run", "-c", "/etc/snapd/config.yaml"]


def test_prometheus_finds_the_metrics_port_through_the_service() -> None:
    service, monitor = resource("Service"), resource("ServiceMonitor")
    pod_labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_the_scrape_job_is_named_as_the_alert_rules_expect() -> None:
    """The Prometheus Operator names the job after the Service's ``jobLabel`` label;
    SnapdDown selects ``up{job="snapd"}``, so without it the alert could never fire."""
    service, monitor = resource("Service"), resource("ServiceMonitor")
    job = service["metadata"]["labels"][monitor["spec"]["jobLabel"]]
    down = next(rule for rule in alert_rules() if rule["alert"] == "SnapdDown")
    assert f'job="{job}"' in down["expr"]
