"""The README's "Docker and Compose" and "Kubernetes" steps, against the files they use:
the services each compose command starts, and the policy, Secret and tree that the
Kubernetes commands edit, create and apply as kustomize renders them."""

from __future__ import annotations

import re

import pytest

from snapd.config.credentials import CONTAINER_SECRET
from tests.conftest import PROJECT_ROOT
from tests.deploy.compose import SERVICES, health_check
from tests.deploy.rendering import find, render
from tests.deploy.support import DEPLOY, load_yaml

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
DEPLOYING = README.split("\n## Deploying\n", 1)[1].split("\n## ", 1)[0]
COMPOSE_SECTION = DEPLOYING.split("\n### Docker and Compose\n", 1)[1].split("\n### ", 1)[0]
KUBERNETES_SECTION = DEPLOYING.split("\n### Kubernetes\n", 1)[1].split("\n### ", 1)[0]
MONITORING = {"prometheus", "alertmanager"}


def commands(section: str) -> list[str]:
    """The section's shell lines, continuations joined, comments left out."""
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    text = "\n".join(blocks).replace("\\\n", " ")
    return [" ".join(line.split("#")[0].split()) for line in text.splitlines() if line.strip()]


def test_the_demo_command_starts_the_demo_profile_and_the_monitoring_beside_it() -> None:
    (line,) = [line for line in commands(COMPOSE_SECTION) if "--profile demo up" in line]
    started = {word for word in line.split(" up ", 1)[1].split() if not word.startswith("-")}
    in_profile = {
        name for name, service in SERVICES.items() if "demo" in service.get("profiles", [])
    }
    assert started == in_profile | MONITORING


def test_the_default_command_starts_snapd_with_a_health_check_and_the_monitoring() -> None:
    assert "docker compose up -d --build" in commands(COMPOSE_SECTION)
    default = {name for name, service in SERVICES.items() if "profiles" not in service}
    assert default == {"snapd"} | MONITORING
    assert health_check("snapd") is not None


@pytest.mark.tools
def test_the_kubernetes_steps_edit_create_and_apply_what_the_rendered_tree_uses() -> None:
    lines = commands(KUBERNETES_SECTION)
    tree = DEPLOY / "kubernetes"
    assert "kubectl apply -k deploy/kubernetes" in lines
    assert "kubectl apply -f deploy/kubernetes/namespace.yaml" in lines
    (edited,) = [line.split()[1] for line in lines if line.startswith("$EDITOR")]
    (generator,) = load_yaml(tree / "kustomization.yaml")["configMapGenerator"]
    assert edited == f"deploy/kubernetes/{generator['files'][0]}"
    rendered = render(tree)
    pod = find(rendered, "Deployment")["spec"]["template"]["spec"]
    (secret,) = [volume["secret"] for volume in pod["volumes"] if "secret" in volume]
    (item,) = secret["items"]
    assert item["path"] == CONTAINER_SECRET.name
    namespace = find(rendered, "Namespace")["metadata"]["name"]
    expected = (
        f"kubectl -n {namespace} create secret generic {secret['secretName']} "
        f"--from-file={item['key']}="
    )
    assert any(line.startswith(expected) for line in lines), expected
    # A policy edit rolls out with apply alone: no restart step is needed or shown.
    assert not any("rollout restart" in line for line in lines)
