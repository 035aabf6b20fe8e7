"""The README's "High availability" section: the three setups, as the files have them."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PROJECT_ROOT
from tests.deploy.rendering import find, render
from tests.deploy.support import DEPLOY, load_yaml
from tests.deploy.unit_file import directives

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("\n## High availability\n", 1)[1].split("\n## ", 1)[0]
COMPOSE = load_yaml(DEPLOY / "docker-compose.yaml")
# The services of no profile that every compose command starts beside snapd.
MONITORING = {"prometheus", "alertmanager"}


def commands() -> list[str]:
    """The section's shell lines, continuations joined, comments left out."""
    blocks = re.findall(r"```sh\n(.*?)```", SECTION, flags=re.DOTALL)
    text = "\n".join(blocks).replace("\\\n", " ")
    return [" ".join(line.split("#")[0].split()) for line in text.splitlines() if line.strip()]


def test_the_section_shows_the_three_setups() -> None:
    for heading in ("### Two hosts with systemd", "### Compose", "### Kubernetes"):
        assert heading in SECTION
    assert "### What to watch" in SECTION


def test_every_file_the_section_links_to_exists() -> None:
    links = re.findall(r"\]\(((?:deploy|config)[^)#]*)\)", SECTION)
    assert links
    for link in links:
        assert (PROJECT_ROOT / link).exists(), link


def test_the_systemd_steps_install_the_drop_in_and_the_credential_it_loads() -> None:
    drop_in = DEPLOY / "systemd" / "ha.conf"
    (credential,) = directives(drop_in)["Service.LoadCredential"]
    source = credential.split(":", 1)[1]
    assert any(source in line and "cat >" in line for line in commands())
    install = next(line for line in commands() if "deploy/systemd/ha.conf" in line)
    assert install.endswith("/etc/systemd/system/hostinger-snapd.service.d/ha.conf")


def test_the_compose_commands_start_the_services_of_their_profile() -> None:
    services = COMPOSE["services"]
    for profile in ("ha", "ha-demo"):
        (line,) = [line for line in commands() if f"--profile {profile} up" in line]
        named = line.split(" up ", 1)[1].split()
        started = [name for name in named if not name.startswith("-")]
        assert {name for name in started if name not in MONITORING} == {
            name for name, service in services.items() if profile in service.get("profiles", [])
        }
    for port in ("9893", "9894", "9895", "9896"):
        assert port in SECTION
    assert any("secrets/ledger_password" in line for line in commands())


@pytest.mark.tools
def test_the_kubernetes_commands_apply_the_variant_with_the_secrets_it_refers_to() -> None:
    assert "kubectl apply -k deploy/kubernetes-ha" in commands()
    deployment = find(render(DEPLOY / "kubernetes-ha"), "Deployment", "hostinger-snapd")
    (projected,) = [
        volume["projected"]
        for volume in deployment["spec"]["template"]["spec"]["volumes"]
        if "projected" in volume
    ]
    for source in projected["sources"]:
        secret = source["secret"]
        (item,) = secret["items"]
        expected = f"create secret generic {secret['name']} --from-file={item['key']}="
        assert any(expected in line for line in commands()), expected


def test_the_section_names_every_alert_about_the_replicas() -> None:
    rules = load_yaml(DEPLOY / "prometheus" / "snapd.rules.yaml")
    (group,) = [group for group in rules["groups"] if group["name"] == "snapd-ha"]
    for rule in group["rules"]:
        assert f"[`{rule['alert']}`](#{rule['alert'].lower()})" in SECTION
    for metric in ("snapd_leader", "snapd_leader_changes_total", "snapd_ledger_errors_total"):
        assert f"`{metric}`" in SECTION
