"""The compose stack as Docker and Prometheus see it: which service runs in which profile,
which ports it listens on, what its health check asks, and whom Prometheus scrapes."""

from __future__ import annotations

import re
from typing import Any

from snapd.config import load_config
from tests.deploy.dockerfile import parse
from tests.deploy.support import DEPLOY, load_yaml

COMPOSE = load_yaml(DEPLOY / "docker-compose.yaml")
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
POLICY = "/etc/snapd/config.yaml"
# The profiles a user starts: none (the default) and each one the file names.
PROFILES: list[str | None] = [
    None,
    *sorted({profile for service in SERVICES.values() for profile in service.get("profiles", [])}),
]
# Ports of the images that are not ours, as their documentation gives them.
IMAGE_PORTS = {"postgres": 5432, "prom/prometheus": 9090, "prom/alertmanager": 9093}
HEALTH_CHECK_PORT = re.compile(r"127\.0\.0\.1['\"]?(?::|,\s*)(\d+)")


def is_snapd_image(service: dict[str, Any]) -> bool:
    return str(service.get("image", "")).startswith("hostinger-snapd:")


def runs_in(name: str, profile: str | None) -> bool:
    """Whether ``docker compose --profile <profile> up`` can start the service."""
    profiles = SERVICES[name].get("profiles")
    return profiles is None or profile in profiles


def mounts(name: str) -> dict[str, str]:
    """What the service mounts, by the path inside the container (``:ro`` left off)."""
    found = {}
    for volume in SERVICES[name].get("volumes", []):
        source, target = volume.split(":")[:2]
        found[target] = source
    return found


def listening_ports(name: str) -> set[int]:
    """The ports the service itself listens on: snapd's from the policy it mounts, the fake
    API's from its command line, another image's from ``IMAGE_PORTS``."""
    service = SERVICES[name]
    if not is_snapd_image(service):
        image = str(service["image"]).split(":")[0]
        return {IMAGE_PORTS[image]} if image in IMAGE_PORTS else set()
    command = service.get("command", [])
    if command and command[0] == "fake-api":
        return {int(command[command.index("--listen") + 1].rsplit(":", 1)[1])}
    policy = load_config(DEPLOY / mounts(name)[POLICY])
    return {policy.metrics.port}


def network_namespace(name: str) -> str:
    """The service whose network namespace the service runs in (its own by default)."""
    mode = str(SERVICES[name].get("network_mode", ""))
    return mode.removeprefix("service:") if mode.startswith("service:") else name


def health_check(name: str) -> list[str] | None:
    """The health check command Docker runs: the service's own, or its image's
    ``HEALTHCHECK`` (the Dockerfile's, for snapd's image); None without one."""
    service = SERVICES[name]
    if "healthcheck" in service:
        return [str(word) for word in service["healthcheck"]["test"]]
    if is_snapd_image(service):
        text = (DEPLOY.parent / "Dockerfile").read_text(encoding="utf-8")
        (instruction,) = parse(text)[1][-1].all("HEALTHCHECK")
        shell_form = instruction.arguments.split("CMD", 1)[-1].split()
        return ["CMD", *(instruction.exec_form() or shell_form)]
    return None


def health_check_port(name: str) -> int:
    """The port the health check connects to (``pg_isready`` asks PostgreSQL's default)."""
    command = health_check(name) or []
    if "pg_isready" in command:
        return int(command[command.index("--port") + 1]) if "--port" in command else 5432
    (port,) = {int(port) for port in HEALTH_CHECK_PORT.findall(" ".join(command))}
    return port


def scrape_jobs() -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
    return jobs


def scraped_listeners(host: str, port: int) -> list[str]:
    """The services that answer on ``host:port``: those in the namespace of the service
    ``host`` that listen on ``port``."""
    return [
        name
        for name in SERVICES
        if network_namespace(name) == host and port in listening_ports(name)
    ]


def scrape_targets(profile: str | None) -> list[tuple[str, str, str]]:
    """(job, instance, service) of every target Prometheus finds in the profile: the DNS
    names of its jobs that are services running in it."""
    found = []
    for job in scrape_jobs():
        assert "static_configs" not in job, f"{job['job_name']}: a static target"
        for lookup in job.get("dns_sd_configs", []):
            for host in lookup["names"]:
                if not runs_in(host, profile):
                    continue
                for service in scraped_listeners(host, lookup["port"]):
                    found.append((job["job_name"], f"{host}:{lookup['port']}", service))
    return found
