"""Prometheus itself reads snapd's metrics: `promtool check metrics` and a real scrape.

The tools come from Debian's ``prometheus`` package, which CI installs. Outside CI the
tests skip when the tools are missing; in CI a missing tool is a failure.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapd.fakeapi import FakeHostinger
from tests.conftest import TOKEN
from tests.support.alert_files import RULES, alert_rules
from tests.support.daemon import DaemonProcess
from tests.support.policy import HOURLY, NO_MANUAL_PROTECTION, write_policy
from tests.support.tools import promtool, tool


@pytest.fixture
def running_daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    with FakeHostinger(token=TOKEN, vm_count=2, action_seconds=1.0, seed=5) as fake:
        state_dir = tmp_path / "state"
        state_dir.mkdir()
        policy = write_policy(
            tmp_path / "config.yaml",
            fake.base_url,
            fake.vm_ids,
            state_dir,
            schedule=HOURLY,
            defaults=NO_MANUAL_PROTECTION,
        )
        daemon = DaemonProcess(policy)
        try:
            for vm in fake.vm_ids:
                daemon.wait_for("snapshot_finished", vm=vm)
            yield daemon
        finally:
            daemon.stop()


def test_the_exposition_passes_promtool_check_metrics(running_daemon: DaemonProcess) -> None:
    exposition = running_daemon.scrape()
    assert "snapd_snapshot_attempts_total" in exposition
    assert promtool("check", "metrics", given=exposition) == ""  # no lint complaint either


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def query(port: int, expression: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as answer:
        body = json.loads(answer.read())
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def rule_health(port: int) -> dict[str, str]:
    """Each loaded rule's name and health ("unknown" until its first evaluation)."""
    url = f"http://127.0.0.1:{port}/api/v1/rules"
    with urllib.request.urlopen(url, timeout=5) as answer:
        body = json.loads(answer.read())
    return {
        str(rule["name"]): str(rule["health"])
        for group in body["data"]["groups"]
        for rule in group["rules"]
    }


def test_a_real_prometheus_scrapes_the_age_of_every_restore_point(
    running_daemon: DaemonProcess, tmp_path: Path
) -> None:
    prometheus = tool("prometheus")
    target = urllib.parse.urlsplit(running_daemon.metrics_url).netloc
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{RULES}']\n"
        "scrape_configs:\n"
        f"  - job_name: snapd\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ages: list[dict[str, object]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(ages) < 2:
            time.sleep(0.5)
            try:
                ages = query(port, "time() - snapd_snapshot_created_timestamp_seconds")
            except OSError:
                continue  # not listening yet
        assert len(ages) == 2, ages
        for sample in ages:
            value = sample["value"]
            assert isinstance(value, list)
            assert 0 <= float(value[1]) < 300  # the snapshots were made moments ago
        assert query(port, 'up{job="snapd"}')[0]["value"][1] == "1"  # type: ignore[index]
        rpo = query(port, "snapd_policy_rpo_seconds")
        assert {float(sample["value"][1]) for sample in rpo} == {5400.0}  # type: ignore[index]
        health: dict[str, str] = {}
        while time.monotonic() < deadline and set(health.values()) != {"ok"}:
            time.sleep(0.5)
            health = rule_health(port)
        assert set(health) == {rule["alert"] for rule in alert_rules()}
        assert set(health.values()) == {"ok"}, health
        # Freshly protected VMs of a healthy daemon: nothing fires.
        assert query(port, 'ALERTS{alertstate="firing"}') == []
    finally:
        server.terminate()
        server.wait(timeout=30)
