"""The Kubernetes manifests as kustomize renders them: one scheduler, a restricted pod,
probes, the token by reference, a network policy, and a scrape job the alerts select."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from snapd import __version__
from snapd.config import load_config
from snapd.config.credentials import CONTAINER_SECRET, load_token
from tests.deploy.dockerfile import parse
from tests.deploy.rendering import find, render, render_overlay, scrape_job
from tests.deploy.support import (
    DEPLOY,
    METRICS_PORT,
    STATE_DIR,
    STOP_TIMEOUT_SECONDS,
    load_yaml,
)
from tests.support.alert_files import alert_rules, selected_jobs

FOLDER = DEPLOY / "kubernetes"
FINAL = parse((DEPLOY.parent / "Dockerfile").read_text(encoding="utf-8"))[1][-1]

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return render(FOLDER)


@pytest.fixture(scope="module")
def pod(resources: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = find(resources, "Deployment")["spec"]["template"]["spec"]
    return spec


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    (found,) = pod["containers"]
    return found  # type: ignore[no-any-return]


def mounts(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each volume of the pod by the path the container mounts it on."""
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    (container,) = pod["containers"]
    return {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}


def test_kustomize_renders_every_manifest_of_the_folder_into_one_namespace(
    resources: list[dict[str, Any]],
) -> None:
    manifests = {path.name for path in FOLDER.glob("*.yaml")} - {
        "kustomization.yaml",
        "config.yaml",
    }
    kustomization = load_yaml(FOLDER / "kustomization.yaml")
    assert set(kustomization["resources"]) == manifests
    rendered = {(item["kind"], item["metadata"]["name"]) for item in resources}
    assert len(rendered) == len(manifests) + 1  # and the ConfigMap of config.yaml
    assert {
        item["metadata"].get("namespace") for item in resources if item["kind"] != "Namespace"
    } == {find(resources, "Namespace")["metadata"]["name"]}


def test_exactly_one_scheduler_runs_and_the_old_one_stops_before_the_new_one_starts(
    resources: list[dict[str, Any]],
) -> None:
    deployment = find(resources, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    comment = (FOLDER / "deployment.yaml").read_text(encoding="utf-8")
    assert "one scheduler" in comment.lower()


def test_the_kubelet_waits_longer_for_a_stop_than_snapd_takes(pod: dict[str, Any]) -> None:
    assert pod["terminationGracePeriodSeconds"] > STOP_TIMEOUT_SECONDS


def test_the_pod_is_restricted_non_root_and_read_only(
    pod: dict[str, Any], container: dict[str, Any]
) -> None:
    pod_security = pod["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] != 0
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    container_security = container["securityContext"]
    assert container_security["readOnlyRootFilesystem"] is True
    assert container_security["allowPrivilegeEscalation"] is False
    assert container_security["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False


def test_liveness_asks_healthz_and_readiness_asks_readyz(container: dict[str, Any]) -> None:
    port = container["ports"][0]
    assert port["containerPort"] == METRICS_PORT
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}


def test_the_pod_runs_the_image_of_this_version_as_the_images_own_user(
    pod: dict[str, Any], container: dict[str, Any]
) -> None:
    assert container["image"] == f"hostinger-snapd:{__version__}"
    (user,) = FINAL.all("USER")
    security = pod["securityContext"]
    assert user.arguments == f"{security['runAsUser']}:{security['runAsGroup']}"


def test_the_container_has_resource_requests_and_limits(container: dict[str, Any]) -> None:
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}


def test_the_token_comes_from_a_secret_that_is_referenced_never_inlined(
    resources: list[dict[str, Any]], pod: dict[str, Any], container: dict[str, Any]
) -> None:
    assert "Secret" not in {item["kind"] for item in resources}
    secret = mounts(pod)[str(CONTAINER_SECRET.parent)]["secret"]
    assert [item["path"] for item in secret["items"]] == [CONTAINER_SECRET.name]
    assert "env" not in container


def kubelet_token_file(folder: Path, mode: int, fs_group: int) -> Path:
    """The token file as the kubelet writes a read-only Secret volume under ``fsGroup``:
    owned by root and the group, the group granted read whatever the mode says
    (SetVolumeOwnership in kubernetes/pkg/volume/volume_linux.go)."""
    path = folder / CONTAINER_SECRET.name
    path.write_text("a-token\n", encoding="utf-8")
    os.chown(path, -1, fs_group)
    path.chmod(mode | 0o440)
    return path


def test_snapd_reads_the_token_under_fs_group_without_a_permission_warning(
    pod: dict[str, Any], tmp_path: Path
) -> None:
    security = pod["securityContext"]
    # snapd runs as runAsGroup; the file's group is fsGroup: the same group.
    assert security["fsGroup"] == security["runAsGroup"]
    mode = mounts(pod)[str(CONTAINER_SECRET.parent)]["secret"]["defaultMode"]
    assert mode & 0o007 == 0  # nobody else
    # Here the process's own group stands for runAsGroup.
    token = load_token(kubelet_token_file(tmp_path, mode, os.getegid()), {})
    assert token.warning is None


def test_the_ledger_lives_on_the_persistent_volume_claim(
    resources: list[dict[str, Any]], pod: dict[str, Any]
) -> None:
    claim = find(resources, "PersistentVolumeClaim")
    volume = mounts(pod)[STATE_DIR]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_the_policy_in_the_config_map_is_valid_and_serves_metrics_to_the_pod_network(
    resources: list[dict[str, Any]], pod: dict[str, Any], container: dict[str, Any], tmp_path: Path
) -> None:
    config_map = find(resources, "ConfigMap")
    assert mounts(pod)["/etc/snapd"]["configMap"]["name"] == config_map["metadata"]["name"]
    policy = tmp_path / "config.yaml"
    policy.write_text(config_map["data"]["config.yaml"], encoding="utf-8")
    config = load_config(policy)
    assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", METRICS_PORT)
    assert str(config.state_dir) == STATE_DIR
    assert container["args"] == ["run", "-c", "/etc/snapd/config.yaml"]


def test_a_policy_edit_renames_the_config_map_so_that_apply_alone_rolls_it_out(
    resources: list[dict[str, Any]], tmp_path: Path
) -> None:
    edited = tmp_path / "edited"
    edited.mkdir()
    policy = (FOLDER / "config.yaml").read_text(encoding="utf-8")
    (edited / "config.yaml").write_text(policy.replace("0 3 * * *", "0 4 * * *"))
    rendered = render_overlay(
        edited,
        {
            "resources": [FOLDER],
            "configMapGenerator": [
                {"name": "hostinger-snapd-config", "behavior": "replace", "files": ["config.yaml"]}
            ],
        },
    )
    before, after = find(resources, "ConfigMap"), find(rendered, "ConfigMap")
    assert before["metadata"]["name"] != after["metadata"]["name"]
    assert (
        mounts(find(rendered, "Deployment")["spec"]["template"]["spec"])["/etc/snapd"]["configMap"][
            "name"
        ]
        == after["metadata"]["name"]
    )


def test_prometheus_finds_the_metrics_port_through_the_service(
    resources: list[dict[str, Any]],
) -> None:
    service, monitor = find(resources, "Service"), find(resources, "ServiceMonitor")
    pod_labels = find(resources, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_the_rendered_scrape_job_is_one_that_every_down_alert_selects(
    resources: list[dict[str, Any]],
) -> None:
    """The Prometheus Operator names the job after the rendered Service's ``jobLabel``
    label; a kustomization ``labels:`` entry once renamed it and SnapdDown never fired."""
    job = scrape_job(resources)
    for rule in alert_rules():
        if rule["alert"] in ("SnapdDown", "SnapdNotScraped"):
            assert job in selected_jobs(rule["expr"]), rule["alert"]


def test_the_network_policy_admits_only_prometheus_and_reaches_only_dns_and_https(
    resources: list[dict[str, Any]],
) -> None:
    policy = find(resources, "NetworkPolicy")["spec"]
    pod_labels = find(resources, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    (ingress,) = policy["ingress"]
    assert ingress["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    assert ingress["ports"] == [{"protocol": "TCP", "port": "metrics"}]
    ports = {
        (port["protocol"], port["port"]) for rule in policy["egress"] for port in rule["ports"]
    }
    assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 443)}


def test_the_release_component_labels_only_the_service_monitor_and_the_rule(
    tmp_path: Path,
) -> None:
    rendered = render_overlay(
        tmp_path,
        {
            "resources": [FOLDER],
            "components": [FOLDER / "components" / "prometheus-release"],
        },
    )
    labelled = {
        item["kind"] for item in rendered if "release" in item["metadata"].get("labels", {})
    }
    assert labelled == {"ServiceMonitor", "PrometheusRule"}
    assert scrape_job(rendered) == scrape_job(render(FOLDER))
