"""The compose stack: a read-only snapd with its token as a secret, Prometheus, a demo."""

from __future__ import annotations

import subprocess

import pytest

from snapd.config import load_config
from snapd.config.credentials import CONTAINER_SECRET, ENVIRONMENT_VARIABLE
from tests.deploy.compose import (
    COMPOSE,
    PROFILES,
    PROMETHEUS_CONFIG,
    SERVICES,
    health_check,
    health_check_port,
    is_snapd_image,
    listening_ports,
    mounts,
    runs_in,
    scrape_jobs,
    scrape_targets,
    scraped_listeners,
)
from tests.deploy.support import (
    DEPLOY,
    METRICS_PORT,
    STATE_DIR,
    STOP_TIMEOUT_SECONDS,
    load_yaml,
    seconds,
)
from tests.support.tools import promtool, tool

FAKE_APIS = {"fake-api", "fake-api-ha-demo"}


@pytest.mark.parametrize("service", ["snapd", "snapd-demo", *FAKE_APIS])
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


def test_prometheus_loads_every_rule_file_of_its_folder_and_sends_alerts_to_alertmanager() -> None:
    prometheus = SERVICES["prometheus"]
    folder = next(
        target for target, source in mounts("prometheus").items() if source == "./prometheus"
    )
    assert f"--config.file={folder}/{PROMETHEUS_CONFIG.name}" in prometheus["command"]
    config = load_yaml(PROMETHEUS_CONFIG)
    # Relative to the config file: the mounted folder, whichever rule files it holds.
    assert config["rule_files"] == ["*.rules.yaml"]
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    (static,) = alertmanagers["static_configs"]
    (target,) = static["targets"]
    host, port = target.rsplit(":", 1)
    assert "profiles" not in SERVICES[host]  # runs beside Prometheus in every profile
    assert int(port) in listening_ports(host)


@pytest.mark.parametrize("profile", PROFILES, ids=str)
def test_in_every_profile_each_name_prometheus_resolves_is_a_snapd_that_runs_in_it(
    profile: str | None,
) -> None:
    """A target whose service is not started in the profile would be down for good and
    fire SnapdDown: the jobs look their targets up in DNS, and only a running service has
    a name there."""
    for job in scrape_jobs():
        assert "static_configs" not in job, job["job_name"]
        for lookup in job["dns_sd_configs"]:
            for host in lookup["names"]:
                if not runs_in(host, profile):
                    continue
                listeners = scraped_listeners(host, lookup["port"])
                assert any(
                    runs_in(name, profile) and name not in FAKE_APIS for name in listeners
                ), (job["job_name"], host, lookup["port"])


@pytest.mark.parametrize("profile", PROFILES, ids=str)
def test_in_every_profile_prometheus_scrapes_every_snapd_daemon_it_runs(
    profile: str | None,
) -> None:
    daemons = {
        name
        for name, service in SERVICES.items()
        if is_snapd_image(service) and name not in FAKE_APIS and runs_in(name, profile)
    }
    assert daemons <= {service for _, _, service in scrape_targets(profile)}


@pytest.mark.parametrize("service", [name for name in SERVICES if health_check(name) is not None])
def test_every_health_check_asks_a_port_its_service_listens_on(service: str) -> None:
    assert health_check_port(service) in listening_ports(service)


@pytest.mark.tools
def test_the_compose_file_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [
            tool("check-jsonschema", "the test extra"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(DEPLOY / "docker-compose.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.tools
def test_promtool_accepts_the_prometheus_config_and_its_rule_files() -> None:
    promtool("check", "config", PROMETHEUS_CONFIG.name, cwd=PROMETHEUS_CONFIG.parent)
