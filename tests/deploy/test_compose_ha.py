"""The compose "ha" profiles: two snapd replicas, one PostgreSQL ledger, secrets by file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from snapd.config.credentials import CONTAINER_SECRET, ENVIRONMENT_VARIABLE
from tests.deploy.compose import health_check_port
from tests.deploy.support import (
    DEPLOY,
    METRICS_PORT,
    STATE_DIR,
    STOP_TIMEOUT_SECONDS,
    load_replicated_policy,
    load_yaml,
    seconds,
)

COMPOSE = load_yaml(DEPLOY / "docker-compose.yaml")
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
REPLICAS = ["snapd-a", "snapd-b"]
DEMO_REPLICAS = ["snapd-ha-demo-a", "snapd-ha-demo-b"]
POLICY = "/etc/snapd/config.yaml"
SECRETS = str(CONTAINER_SECRET.parent)


def mounts(service: str) -> dict[str, str]:
    """What the service mounts, by the path inside the container (``:ro`` left off)."""
    found = {}
    for volume in SERVICES[service]["volumes"]:
        source, target = volume.split(":")[:2]
        found[target] = source
    return found


def policy(service: str, folder: Path) -> tuple[Any, dict[str, Any]]:
    text = (DEPLOY / mounts(service)[POLICY]).read_text(encoding="utf-8")
    return load_replicated_policy(text, folder)


def dsn_host(ledger: dict[str, Any]) -> str:
    return str(ledger["dsn"]).split("@", 1)[1].split("/", 1)[0]


def test_the_ha_profile_runs_postgres_and_two_replicas_only_when_asked_for() -> None:
    assert {name for name, service in SERVICES.items() if "ha" in service.get("profiles", [])} == {
        "postgres",
        *REPLICAS,
    }
    assert "profiles" not in SERVICES["snapd"]  # the single daemon is started by name


@pytest.mark.parametrize("service", REPLICAS + DEMO_REPLICAS)
def test_every_replica_is_read_only_without_privileges(service: str) -> None:
    settings = SERVICES[service]
    assert settings["read_only"] is True
    assert settings["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in settings["security_opt"]
    assert "user" not in settings
    assert seconds(settings["stop_grace_period"]) > STOP_TIMEOUT_SECONDS
    assert mounts(service)[STATE_DIR] in COMPOSE["volumes"]


def test_the_replicas_share_one_policy_and_keep_their_own_state() -> None:
    assert len({mounts(service)[POLICY] for service in REPLICAS}) == 1
    assert len({mounts(service)[STATE_DIR] for service in REPLICAS}) == len(REPLICAS)
    published = {
        port.rsplit(":", 1)[0] for service in REPLICAS for port in SERVICES[service]["ports"]
    }
    assert len(published) == len(REPLICAS)


@pytest.mark.parametrize("service", REPLICAS)
def test_each_replica_starts_once_the_database_is_healthy(service: str) -> None:
    assert SERVICES[service]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "pg_isready" in SERVICES["postgres"]["healthcheck"]["test"]


@pytest.mark.parametrize("service", REPLICAS)
def test_each_replica_reads_the_database_password_and_the_token_as_secrets(
    service: str, tmp_path: Path
) -> None:
    config, ledger = policy(service, tmp_path)
    settings = SERVICES[service]
    assert "environment" not in settings  # neither the token nor PGPASSWORD in a variable
    assert ledger["password_file"].startswith(SECRETS + "/")
    assert sorted(settings["secrets"]) == sorted(
        [CONTAINER_SECRET.name, ledger["password_file"].rsplit("/", 1)[1]]
    )
    assert dsn_host(ledger) == "postgres"
    assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", METRICS_PORT)
    assert str(config.state_dir) == STATE_DIR


def test_postgres_is_pinned_and_takes_its_password_from_the_same_secret(tmp_path: Path) -> None:
    database = SERVICES["postgres"]
    image, _, tag = database["image"].partition(":")
    assert image == "postgres" and tag[:1].isdigit() and "." in tag  # not latest, not 17
    _, ledger = policy("snapd-a", tmp_path)
    secret = ledger["password_file"].rsplit("/", 1)[1]
    assert database["secrets"] == [secret]
    assert database["environment"]["POSTGRES_PASSWORD_FILE"] == f"{SECRETS}/{secret}"
    assert "POSTGRES_PASSWORD" not in database["environment"]
    assert set(COMPOSE["secrets"][secret]) == {"file"}
    assert COMPOSE["secrets"][secret]["file"].startswith("./secrets/")  # git ignores it
    user = ledger["dsn"].split("://", 1)[1].split("@", 1)[0]
    assert (database["environment"]["POSTGRES_USER"], database["environment"]["POSTGRES_DB"]) == (
        user,
        ledger["dsn"].rsplit("/", 1)[1],
    )
    assert database["volumes"][0].split(":")[0] in COMPOSE["volumes"]


def test_no_password_or_token_is_written_into_the_ha_profile() -> None:
    for name in ["postgres", *REPLICAS]:
        text = yaml.safe_dump(SERVICES[name])
        assert "demo-" not in text and "PGPASSWORD" not in text


def test_the_ha_demo_runs_both_replicas_against_one_fake_api_and_one_database(
    tmp_path: Path,
) -> None:
    fake = SERVICES["fake-api-ha-demo"]
    assert fake["profiles"] == ["ha-demo"]
    command = fake["command"]
    listen_port = command[command.index("--listen") + 1].rsplit(":", 1)[1]
    ports = set()
    for name in DEMO_REPLICAS:
        folder = tmp_path / name
        folder.mkdir()
        config, ledger = policy(name, folder)
        settings = SERVICES[name]
        assert settings["profiles"] == ["ha-demo"]
        assert settings["network_mode"] == "service:fake-api-ha-demo"
        assert (
            settings["environment"][ENVIRONMENT_VARIABLE] == command[command.index("--token") + 1]
        )
        assert (
            settings["environment"]["PGPASSWORD"]
            == SERVICES["postgres-demo"]["environment"]["POSTGRES_PASSWORD"]
        )
        assert set(settings["depends_on"]) == {"fake-api-ha-demo", "postgres-demo"}
        assert config.api.base_url == f"http://127.0.0.1:{listen_port}"
        assert dsn_host(ledger) == "postgres-demo"
        ports.add(config.metrics.port)
        assert f"127.0.0.1:{config.metrics.port}:{config.metrics.port}" in fake["ports"]
    assert len(ports) == 2  # one network namespace: a port each


def test_the_ha_demo_replicas_differ_only_in_their_metrics_port() -> None:
    # The leadership lock is one per fleet: the two policies must describe one fleet.
    first, second = (load_yaml(DEPLOY / mounts(name)[POLICY]) for name in DEMO_REPLICAS)
    assert first["metrics"] != second["metrics"]
    del first["metrics"], second["metrics"]
    assert first == second


def test_prometheus_scrapes_every_replica_in_one_job_per_fleet() -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    names = {
        (name, lookup["port"])
        for lookup in jobs["snapd-ha"]["dns_sd_configs"]
        for name in lookup["names"]
    }
    assert names == {(service, METRICS_PORT) for service in REPLICAS}
    demo_ports = {lookup["port"] for lookup in jobs["snapd-ha-demo"]["dns_sd_configs"]}
    assert demo_ports == {health_check_port(name) for name in DEMO_REPLICAS}


def test_the_image_installs_the_postgresql_client_for_the_replicas() -> None:
    steps = (DEPLOY.parent / "Dockerfile").read_text(encoding="utf-8")
    # The dependency layer installs the postgresql extra's requirements (psycopg); the
    # image's build steps, run by test_image_install.py, import it.
    assert "['optional-dependencies']['postgresql']" in steps
