"""Notifications as an operator meets them: the policy, `notify test`, `once` and `run`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.fakeapi import FakeHostinger
from snapd.notify.delivery import Delivery, DeliveryWorker
from tests.conftest import TOKEN, PolicyWriter
from tests.support.daemon import DaemonProcess, metric_value
from tests.support.notify import SECRET, Receiver, receiver


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


# -- configuration and the command line ------------------------------------------------


def notify_policy(write_config: PolicyWriter, fake_url: str, notify: str) -> Path:
    return write_config(
        f"""
        api: {{base_url: '{fake_url}'}}
        defaults:
          schedule: "0 3 * * *"
          notify:
        {notify}
        vms:
          - {{id: 1, name: web-1}}
          - {{id: 2, name: db-1, notify: {{}}}}
        """
    )


def test_notify_in_defaults_applies_to_every_vm_that_does_not_set_its_own(
    write_config: PolicyWriter,
) -> None:
    path = notify_policy(
        write_config,
        "http://127.0.0.1:1",
        "    ping: {url: 'https://hc-ping.example/abc/{vm_name}', timeout: 5s}\n"
        "            webhooks:\n"
        "              - {url: 'https://chat.example/x', on: [failure, skip], format: slack}",
    )
    config = load_config(path)
    first, second = config.vms
    assert first.notify is not None and first.notify.ping is not None
    assert first.notify.ping.timeout == timedelta(seconds=5)
    assert first.notify.webhooks[0].on == frozenset({"failure", "skip"})
    assert second.notify is None  # its own empty notify turns them off


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        (
            "    webhooks: [{url: 'https://chat.example/x', on: [sometimes]}]",
            "defaults.notify.webhooks[0].on[0]:",
        ),
        (
            f"    ping: {{url: 'ftp://hc.example/{SECRET}'}}",
            "defaults.notify.ping.url: expected an http(s) URL with a host",
        ),
        (
            "    ping: {url: 'https://hc.example/{vm}'}",
            "defaults.notify.ping.url: unknown placeholder {vm}",
        ),
        ("    ping: {url: 'https://hc.example/', timeout: 0s}", "must be longer than 0s"),
        ("    ping: {url: 'https://hc.example/', retries: 3}", "defaults.notify.ping.retries"),
        (f"    ping: 'https://hc.example/{SECRET}'", "defaults.notify.ping: expected a mapping"),
        (
            f"    webhooks: ['https://chat.example/{SECRET}']",
            "defaults.notify.webhooks[0]: expected a mapping",
        ),
    ],
)
def test_a_bad_notify_setting_is_a_one_line_config_error_without_the_url(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str], notify: str, message: str
) -> None:
    path = notify_policy(write_config, "http://127.0.0.1:1", notify)
    assert main(["config", "validate", "-c", str(path)]) == 2
    error = capsys.readouterr().err
    assert f"{path}:" in error and message in error, error
    assert SECRET not in error


def test_config_show_masks_notification_urls(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = notify_policy(
        write_config,
        "http://127.0.0.1:1",
        f"    ping: {{url: 'https://hc-ping.example/{SECRET}'}}\n"
        f"            webhooks: [{{url: 'https://chat.example/{SECRET}?t={SECRET}'}}]",
    )
    assert main(["config", "show", "-c", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "https://hc-ping.example/***" in shown
    assert "https://chat.example/***" in shown
    assert SECRET not in shown


def test_notify_test_reports_every_target_and_exits_1_when_one_fails(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str], hook: Receiver
) -> None:
    with receiver() as broken:
        broken.status = 500
        path = notify_policy(
            write_config,
            "http://127.0.0.1:1",
            f"    ping: {{url: '{hook.url}/{SECRET}/{{vm_id}}'}}\n"
            f"            webhooks: [{{url: '{broken.url}/{SECRET}', format: slack}}]",
        )
        assert main(["notify", "test", "-c", str(path)]) == 1
        assert len(broken.received) == 1  # a test is tried once
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"VM 1 (web-1) ping {hook.url}: ok (HTTP 200)",
        f"VM 1 (web-1) webhook {broken.url}: FAILED (HTTP 500)",
    ]
    assert hook.paths() == [f"/{SECRET}/1"]
    assert "test notification" in hook.received[0].body


def test_notify_test_exits_0_when_every_target_accepts(
    write_config: PolicyWriter, hook: Receiver
) -> None:
    path = notify_policy(write_config, "http://127.0.0.1:1", f"    ping: {{url: '{hook.url}/x'}}")
    assert main(["notify", "test", "-c", str(path), "1"]) == 0
    assert main(["notify", "test", "-c", str(path), "2"]) == 2  # nothing configured for VM 2


def test_snapd_once_sends_the_start_and_success_pings(
    write_config: PolicyWriter,
    hook: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=0.2, seed=8) as live:
        vm = live.vm_ids[0]
        path = write_config(
            f"""
            api: {{base_url: '{live.base_url}', timeout: 5s, requests_per_minute: 6000}}
            defaults:
              schedule: "0 3 * * *"
              notify: {{ping: {{url: '{hook.url}/{SECRET}/{{vm_id}}'}}}}
            vms: [{{id: {vm}}}]
            state_dir: {state_dir}
            log: {{format: json}}
            """
        )
        assert main(["once", "-c", str(path), str(vm)]) == 0
    assert hook.paths() == [f"/{SECRET}/{vm}/start", f"/{SECRET}/{vm}"]


def test_snapd_run_pings_start_and_success_for_every_vm_and_logs_no_url_path(
    hook: Receiver, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with FakeHostinger(token=TOKEN, vm_count=2, action_seconds=0.5, seed=9) as live:
        path = tmp_path / "config.yaml"
        path.write_text(
            f"api: {{base_url: '{live.base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
            "defaults:\n"
            '  schedule: "0 * * * *"\n'
            "  protect_manual: 0s\n"
            f"  notify: {{ping: {{url: '{hook.url}/{SECRET}/{{vm_id}}?k={SECRET}'}}}}\n"
            f"vms: [{{id: {live.vm_ids[0]}}}, {{id: {live.vm_ids[1]}}}]\n"
            "metrics: {listen: '127.0.0.1:0'}\n"
            f"state_dir: {state_dir}\n"
            "log: {format: json}\n"
        )
        daemon = DaemonProcess(path)
        try:
            hook.wait_for(4, timeout=30)
            daemon.wait_for("notification_sent", notify_event="success", vm=live.vm_ids[1])
            exposition = daemon.scrape()
        finally:
            assert daemon.stop() == 0
    for vm in live.vm_ids:
        pings = [item.path for item in hook.received if f"/{vm}" in item.path]
        assert pings == [f"/{SECRET}/{vm}/start?k={SECRET}", f"/{SECRET}/{vm}?k={SECRET}"]
    sent = metric_value(exposition, "snapd_notifications_total", kind="ping", result="sent")
    assert sent is not None and sent >= 3
    assert not [line for line in daemon.raw if SECRET in line]


# -- delivery: one target's retries, a refused connection, the end of a command ----------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_notify_test_names_a_refused_connection_and_its_address(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    path = notify_policy(
        write_config, "http://127.0.0.1:1", f"    ping: {{url: 'http://127.0.0.1:{port}/x'}}"
    )
    assert main(["notify", "test", "-c", str(path), "1"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"VM 1 (web-1) ping http://127.0.0.1:{port}: "
        f"FAILED (connection refused by 127.0.0.1:{port})"
    ]


def test_a_target_being_retried_does_not_hold_back_another_target_on_the_same_host(
    hook: Receiver, clock: ManualClock
) -> None:
    hook.statuses["/failing"] = 503
    worker = DeliveryWorker(clock=clock)  # its backoff waits for a clock nobody moves
    try:
        for path in ("/failing", "/working"):
            url = hook.url + path
            worker.submit(Delivery("webhook", "failure", 1, url, b"{}", "application/json", 5, url))
        hook.wait_for(2)
    finally:
        worker.close(0.0)
    assert sorted(hook.paths()) == ["/failing", "/working"]


def test_snapd_once_ends_without_abandoning_notifications_that_were_all_delivered(
    write_config: PolicyWriter,
    hook: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=0.2, seed=8) as live:
        vm = live.vm_ids[0]
        path = write_config(
            f"""
            api: {{base_url: '{live.base_url}', timeout: 5s, requests_per_minute: 6000}}
            defaults:
              schedule: "0 3 * * *"
              notify:
                ping: {{url: '{hook.url}/ping/{{vm_id}}'}}
                webhooks: [{{url: '{hook.url}/hook', on: [success]}}]
            vms: [{{id: {vm}}}]
            state_dir: {tmp_path}
            log: {{format: json}}
            """
        )
        assert main(["once", "-c", str(path), str(vm)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    sent = [line["notify_event"] for line in events if line["event"] == "notification_sent"]
    assert sorted(sent) == ["start", "success", "success"]
    assert not [line for line in events if line["event"] == "notifications_abandoned"]
