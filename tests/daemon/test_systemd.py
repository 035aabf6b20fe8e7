"""sd_notify over a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapd.daemon import systemd


class NotifySocket:
    """A bound datagram socket and the environment that points at it."""

    def __init__(self, address: str, environ_value: str) -> None:
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(address)
        self.socket.settimeout(2)
        self.environ = {"NOTIFY_SOCKET": environ_value}

    def receive(self) -> str:
        return self.socket.recv(4096).decode()

    def pending(self) -> list[str]:
        """Every datagram already queued, without waiting."""
        self.socket.setblocking(False)
        messages = []
        try:
            while True:
                messages.append(self.receive())
        except BlockingIOError:
            return messages
        finally:
            self.socket.settimeout(2)


def time_monotonic_microseconds() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    path = str(tmp_path / "notify")
    listener = NotifySocket(path, path)
    yield listener
    listener.socket.close()


def test_ready_sends_ready_and_the_status_line(notify_socket: NotifySocket) -> None:
    assert systemd.ready("watching 3 VMs", environ=notify_socket.environ)

    assert notify_socket.receive() == "READY=1\nSTATUS=watching 3 VMs"


def test_ready_without_a_status_sends_only_ready(notify_socket: NotifySocket) -> None:
    assert systemd.ready(environ=notify_socket.environ)

    assert notify_socket.receive() == "READY=1"


def test_reloading_carries_the_monotonic_time_in_microseconds(
    notify_socket: NotifySocket,
) -> None:
    before = time_monotonic_microseconds()

    assert systemd.reloading(environ=notify_socket.environ)

    first, second = notify_socket.receive().split("\n")
    assert first == "RELOADING=1"
    key, _, microseconds = second.partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(microseconds) <= time_monotonic_microseconds()


def test_reloading_sends_the_given_timestamp(notify_socket: NotifySocket) -> None:
    assert systemd.reloading(123456789, environ=notify_socket.environ)

    assert notify_socket.receive() == "RELOADING=1\nMONOTONIC_USEC=123456789"


def test_stopping_status_and_watchdog_send_their_assignments(
    notify_socket: NotifySocket,
) -> None:
    environ = notify_socket.environ

    assert systemd.stopping("shutting down", environ=environ)
    assert systemd.status("next slot 03:00", environ=environ)
    assert systemd.watchdog(environ=environ)
    assert systemd.stopping(environ=environ)

    assert [notify_socket.receive() for _ in range(4)] == [
        "STOPPING=1\nSTATUS=shutting down",
        "STATUS=next slot 03:00",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_a_status_with_newlines_stays_one_assignment(notify_socket: NotifySocket) -> None:
    assert systemd.status("line one\nREADY=1", environ=notify_socket.environ)

    assert notify_socket.receive() == "STATUS=line one READY=1"


def test_an_abstract_socket_address_is_reached_through_its_at_sign_form() -> None:
    name = f"snapd-test-{uuid.uuid4().hex}"
    listener = NotifySocket("\0" + name, "@" + name)
    try:
        assert systemd.notify("READY=1", listener.environ)
        assert listener.receive() == "READY=1"
    finally:
        listener.socket.close()


def test_notify_reads_the_process_environment_by_default(
    notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.environ["NOTIFY_SOCKET"])

    assert systemd.watchdog()

    assert notify_socket.receive() == "WATCHDOG=1"


@pytest.mark.parametrize(
    "environ",
    [{}, {"NOTIFY_SOCKET": ""}, {"NOTIFY_SOCKET": "vsock:2:1234"}, {"NOTIFY_SOCKET": "relative"}],
    ids=["unset", "empty", "vsock", "relative path"],
)
def test_notify_is_false_outside_systemd_or_for_unsupported_addresses(
    environ: dict[str, str],
) -> None:
    assert systemd.notify("READY=1", environ) is False


def test_notify_is_false_when_nobody_listens(tmp_path: Path) -> None:
    environ = {"NOTIFY_SOCKET": str(tmp_path / "gone")}

    assert systemd.ready(environ=environ) is False


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "not a pid"}, None),
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "30s"}, None),
    ],
    ids=[
        "interval",
        "own pid",
        "other pid",
        "bad pid",
        "unset",
        "zero",
        "negative",
        "not a number",
    ],
)
def test_the_watchdog_interval_is_half_the_timeout_for_this_process_only(
    environ: dict[str, str], interval: float | None
) -> None:
    assert systemd.watchdog_interval(environ) == interval


def test_the_watchdog_thread_pings_while_healthy(notify_socket: NotifySocket) -> None:
    pinger = systemd.Watchdog(lambda: True, interval=0.01, environ=notify_socket.environ)

    assert pinger.start()
    try:
        assert [notify_socket.receive() for _ in range(3)] == ["WATCHDOG=1"] * 3
        assert pinger.active
    finally:
        pinger.stop()

    assert not pinger.active


def test_the_watchdog_thread_stops_pinging_while_unhealthy_and_resumes_after(
    notify_socket: NotifySocket,
) -> None:
    healthy = threading.Event()
    checked_while_unhealthy = threading.Event()

    def check() -> bool:
        if not healthy.is_set():
            checked_while_unhealthy.set()
        return healthy.is_set()

    pinger = systemd.Watchdog(check, interval=0.01, environ=notify_socket.environ)
    pinger.start()
    try:
        assert checked_while_unhealthy.wait(2)
        assert notify_socket.pending() == []
        healthy.set()
        assert notify_socket.receive() == "WATCHDOG=1"
    finally:
        pinger.stop()


def test_a_health_check_that_raises_counts_as_unhealthy(notify_socket: NotifySocket) -> None:
    called = threading.Event()

    def broken() -> bool:
        called.set()
        raise RuntimeError("scheduler gone")

    pinger = systemd.Watchdog(broken, interval=0.01, environ=notify_socket.environ)
    pinger.start()
    try:
        assert called.wait(2)
        assert pinger.active
    finally:
        pinger.stop()
    assert notify_socket.pending() == []


def test_the_watchdog_does_nothing_without_a_configured_interval() -> None:
    pinger = systemd.Watchdog(environ={})

    assert pinger.interval is None
    assert pinger.start() is False
    assert not pinger.active
    pinger.stop()


def test_the_watchdog_takes_its_interval_from_the_environment() -> None:
    pinger = systemd.Watchdog(environ={"WATCHDOG_USEC": "2000000"})

    assert pinger.interval == 1.0
