"""Only the container and Kubernetes policies open the metrics port beyond loopback."""

from __future__ import annotations

from snapd.config import load_config
from tests.conftest import EXAMPLE_CONFIG, PROJECT_ROOT


def test_the_example_policy_for_a_host_serves_metrics_on_loopback_only() -> None:
    assert load_config(EXAMPLE_CONFIG).metrics.host == "127.0.0.1"


def test_only_the_container_and_kubernetes_policies_listen_on_every_interface() -> None:
    policies = [*PROJECT_ROOT.glob("*.yaml"), *(PROJECT_ROOT / "deploy").glob("**/*.yaml")]
    opened = {
        str(path.relative_to(PROJECT_ROOT))
        for path in policies
        if "listen: 0.0.0.0:" in path.read_text(encoding="utf-8")
    }
    assert opened == {
        "deploy/container/config.yaml",
        "deploy/container/config.demo.yaml",
        "deploy/container/config.ha.yaml",
        "deploy/container/config.ha-demo-a.yaml",
        "deploy/container/config.ha-demo-b.yaml",
        "deploy/kubernetes/config.yaml",
        "deploy/kubernetes-ha/config.yaml",
    }
