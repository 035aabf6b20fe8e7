"""Receivers that never finish their answer: a notification is bounded in time and in what
it reads, one slow destination does not hold another, and a stop does not wait for them."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from snapd.cli import main
from snapd.config import VirtualMachinePolicy
from snapd.config.notify import NotifySettings, PingTarget, WebhookTarget
from snapd.metrics import Metrics
from snapd.notify.delivery import Delivery, DeliveryWorker
from snapd.notify.messages import Notification
from snapd.notify.notifier import Notifier
from tests.conftest import TOKEN, PolicyWriter, make_policy
from tests.faults.receivers import bad_receiver
from tests.support.notify import SECRET, receiver

# What the machine may add to a deadline under load: threads waking, a socket shutting.
MARGIN = 1.5


def webhook_policy(write_config: PolicyWriter, url: str, timeout: str) -> Path:
    return write_config(
        f"""
        api: {{base_url: 'http://127.0.0.1:1'}}
        defaults: {{schedule: "0 3 * * *"}}
        vms:
          - id: 1
            name: web-1
            notify:
              webhooks: [{{url: '{url}', timeout: {timeout}}}]
        """
    )


def test_notify_test_stops_reading_an_endless_answer_at_64_kib_and_fails_at_once(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    with bad_receiver("stream") as endless:
        path = webhook_policy(write_config, f"{endless.url}/{SECRET}", "2s")
        began = time.monotonic()
        code = main(["notify", "test", "-c", str(path)])
        elapsed = time.monotonic() - began

    assert code == 1
    assert elapsed < 2 + MARGIN
    assert capsys.readouterr().out.splitlines() == [
        f"VM 1 (web-1) webhook {endless.url}: FAILED (answer longer than 64 KiB)"
    ]
    # What the receiver got into the sockets: 64 KiB read, the rest kernel buffers.
    assert endless.bytes_written < 16 * 1024 * 1024


def test_notify_test_gives_up_on_a_trickling_receiver_at_its_total_timeout(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    with bad_receiver("trickle") as trickle:
        path = webhook_policy(write_config, f"{trickle.url}/{SECRET}", "1s")
        began = time.monotonic()
        code = main(["notify", "test", "-c", str(path)])
        elapsed = time.monotonic() - began

    assert code == 1
    assert elapsed < 1 + MARGIN  # bytes come every 0.2 s: a per-read timeout never fires
    assert capsys.readouterr().out.splitlines() == [
        f"VM 1 (web-1) webhook {trickle.url}: FAILED (timed out after 1s)"
    ]


def test_a_trickling_proxy_is_cut_off_at_the_total_timeout_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with bad_receiver("trickle") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)  # requests honours it, as users expect
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        target = f"http://hooks.example.invalid/{SECRET}"
        delivery = Delivery("webhook", "test", 1, target, b"{}", "application/json", 1.0)
        worker = DeliveryWorker(attempts=1)
        began = time.monotonic()
        result = worker.send(delivery)
        elapsed = time.monotonic() - began
        worker.close(0.0)

    assert proxy.requests == 1
    assert (result.ok, result.problem) == (False, "timed out after 1s")
    assert elapsed < 1 + MARGIN


def slow_and_fast(slow_url: str, fast_url: str) -> dict[int, VirtualMachinePolicy]:
    """VM 7 posts its webhook to ``slow_url``, VM 8 pings ``fast_url``."""
    slow = WebhookTarget(slow_url, frozenset({"failure"}), "json", timedelta(seconds=30))
    fast = PingTarget(fast_url, timedelta(seconds=5))
    return {
        7: make_policy(7, notify=NotifySettings(ping=None, webhooks=(slow,))),
        8: make_policy(8, notify=NotifySettings(ping=fast, webhooks=())),
    }


def test_a_trickling_destination_does_not_delay_another_destinations_notification() -> None:
    with bad_receiver("trickle", limit=30) as trickle, receiver() as fast:
        policies = slow_and_fast(f"{trickle.url}/{SECRET}", f"{fast.url}/ping/{SECRET}")
        notifier = Notifier(policies.get, DeliveryWorker())
        for vm in (7, 8):
            notifier.notify(policies[vm], Notification("test", vm, f"vm-{vm}"))

        began = time.monotonic()
        fast.wait_for(1, timeout=1.0)
        arrived = time.monotonic() - began
        trickle.wait_for_request()  # its lane may reach it a moment after the fast one
        still_hanging = trickle.requests == 1
        notifier.close(0.0)

    assert arrived < 1.0
    assert still_hanging
    assert fast.paths() == [f"/ping/{SECRET}"]


def test_a_full_queue_drops_only_its_own_destinations_notifications_and_counts_them() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    with bad_receiver("trickle", limit=30) as trickle, receiver() as fast:
        policies = slow_and_fast(f"{trickle.url}/{SECRET}", f"{fast.url}/ping/{SECRET}")
        worker = DeliveryWorker(metrics.notification_finished, maximum_queue=2)
        notifier = Notifier(policies.get, worker)
        with capture_logs() as logs:
            notifier.notify(policies[7], Notification("failure", 7, "vm-7"))
            trickle.wait_for_request()  # one in flight, then two queued, then one too many
            for _ in range(3):
                notifier.notify(policies[7], Notification("failure", 7, "vm-7"))
            notifier.notify(policies[8], Notification("test", 8, "vm-8"))
            fast.wait_for(1, timeout=1.0)
        notifier.close(0.0)

    dropped = [line for line in logs if line["event"] == "notification_dropped"]
    assert [(line["vm"], line["reason"]) for line in dropped] == [(7, "queue_full")]
    labels = {"kind": "webhook", "result": "dropped"}
    assert registry.get_sample_value("snapd_notifications_total", labels) == 1 + 2  # + at stop
    assert fast.paths() == [f"/ping/{SECRET}"]


def test_a_stop_cuts_a_hanging_delivery_and_counts_what_it_drops() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    with bad_receiver("trickle", limit=30) as trickle:
        policies = slow_and_fast(f"{trickle.url}/{SECRET}", "https://unused.example/")
        worker = DeliveryWorker(metrics.notification_finished)
        notifier = Notifier(policies.get, worker)
        with capture_logs() as logs:
            for _ in range(5):
                notifier.notify(policies[7], Notification("failure", 7, "vm-7"))
            trickle.wait_for_request()
            began = time.monotonic()
            notifier.close(0.5)
            elapsed = time.monotonic() - began

    assert elapsed < 0.5 + MARGIN
    assert trickle.requests == 1
    abandoned = [line for line in logs if line["event"] == "notifications_abandoned"]
    assert [(line["dropped"], line["in_flight"]) for line in abandoned] == [(4, 1)]
    failed = [line for line in logs if line["event"] == "notification_failed"]
    assert [line["problem"] for line in failed] == ["abandoned at stop"]

    def count(result: str) -> float | None:
        labels = {"kind": "webhook", "result": result}
        return registry.get_sample_value("snapd_notifications_total", labels)

    assert (count("dropped"), count("failed"), count("sent")) == (4, 1, 0)


@pytest.mark.parametrize(
    "url", [f"http://hooks.example.com/{SECRET}", f"http://10.0.0.5:8080/{SECRET}"]
)
def test_config_validate_refuses_a_plain_http_notification_url_to_a_remote_host(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    path = webhook_policy(write_config, url, "2s")

    assert main(["config", "validate", "-c", str(path)]) == 2

    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert "vms[0].notify.webhooks[0].url: plain http to a host that is not loopback" in error
    assert SECRET not in error and "example.com" not in error


@pytest.mark.parametrize(
    "url", [f"https://hooks.example.com/{SECRET}", f"http://localhost:8080/{SECRET}"]
)
def test_config_validate_accepts_https_and_plain_http_to_loopback(
    write_config: PolicyWriter, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    assert main(["config", "validate", "-c", str(webhook_policy(write_config, url, "2s"))]) == 0
