"""The compose stack: a read-only snapd with its token as a secret, Prometheus, a demo."""

from __future__ import annotations

from typing import Any

import pytest

from snapd.config import load_config
from snapd.config.credentials import CONTAINER_SECRET, ENVIRONMENT_VARIABLE
from tests.deploy.support import (
    DEPLOY,
    METRICS_PORT,
    STATE_DIR,
    STOP_TIMEOUT_SECONDS,
    load_yaml,
    seconds,
)
from tests.tools import promtool

COMPOSE = load_yaml(DEPLOY / "docker-compose.yaml")
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"


def mounts(service: str) -> dict[str, str]:
    """What the service mounts, by the path inside the container (``:ro`` left off)."""
    found = {}
    for volume in SERVICES[service]["volumes"]:
        source, target = volume.split(":")[:2]
        found[target] = source
    return found


@pytest.mark.parametrize("service", ["snapd", "snapd-demo", "fake-api"])
def test_snapd_containers_are_read_only_without_privileges(service: str) -> None:
    settings = SERVICES[service]
    assert settings["read_only"] is True
    assert settings["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in settings["security_opt"]
    assert "user" not in settings  # the image's own non-root user
    assert seconds(settings["stop_grace_period"]) > STOP_TIMEOUT_SECONDS


@pytest.mark.parametrize("service", ["snapd", "snapd-demo"])
def test_the_ledger_is_kept_in_a_named_volume(service: str) -> None:
    assert mounts(service)[STATE_DIR] in COMPOSE["volumes"]


def test_the_token_is_a_compose_secret_where_snapd_looks_for_it() -> None:
    snapd = SERVICES["snapd"]
    assert snapd["secrets"] == [CONTAINER_SECRET.name]
    assert set(COMPOSE["secrets"][CONTAINER_SECRET.name]) == {"file"}
    assert "environment" not in snapd  # no HOSTINGER_API_TOKEN variable, only the secret
    assert "secrets/" in (DEPLOY.parent / ".gitignore").read_text(encoding="utf-8")


def test_the_policies_mounted_into_the_containers_are_valid_and_serve_metrics_outside() -> None:
    for service in ("snapd", "snapd-demo"):
        policy = load_config(DEPLOY / mounts(service)["/etc/snapd/config.yaml"])
        assert (policy.metrics.host, policy.metrics.port) == ("0.0.0.0", METRICS_PORT)
        assert str(policy.state_dir) == STATE_DIR


def test_the_demo_runs_against_the_fake_api_it_shares_a_network_with() -> None:
    fake, demo = SERVICES["fake-api"], SERVICES["snapd-demo"]
    assert demo["profiles"] == ["demo"] and "demo" in fake["profiles"]
    assert "profiles" not in SERVICES["snapd"] and "profiles" not in SERVICES["prometheus"]
    assert demo["network_mode"] == "service:fake-api"
    command = fake["command"]
    assert command[0] == "fake-api"
    listen_port = command[command.index("--listen") + 1].rsplit(":", 1)[1]
    policy = load_config(DEPLOY / mounts("snapd-demo")["/etc/snapd/config.yaml"])
    assert policy.api.base_url == f"http://127.0.0.1:{listen_port}"
    assert demo["environment"][ENVIRONMENT_VARIABLE] == command[command.index("--token") + 1]
    assert {vm.id for vm in policy.vms} <= {1268054, 1268055, 1268056}  # the fake's first VMs


def test_prometheus_scrapes_snapd_and_loads_every_rule_file_of_its_folder() -> None:
    prometheus = SERVICES["prometheus"]
    folder = next(
        target for target, source in mounts("prometheus").items() if source == "./prometheus"
    )
    assert f"--config.file={folder}/{PROMETHEUS_CONFIG.name}" in prometheus["command"]
    config = load_yaml(PROMETHEUS_CONFIG)
    # Relative to the config file: the mounted folder, whichever rule files it holds.
    assert config["rule_files"] == ["*.rules.yaml"]
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert f"snapd:{METRICS_PORT}" in targets


@pytest.mark.tools
def test_promtool_accepts_the_prometheus_config_and_its_rule_files() -> None:
    promtool("check", "config", PROMETHEUS_CONFIG.name, cwd=PROMETHEUS_CONFIG.parent)
