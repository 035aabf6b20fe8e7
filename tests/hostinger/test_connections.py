"""The client's own connections and deadline keeper: closing the client ends the keeper's
thread, the keeper keeps time on the clock it is given, and the connections go through the
proxy the environment names, a plain HTTP one or an HTTPS tunnel with verified TLS."""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger
from snapd.hostinger import ConnectionFailedError
from snapd.hostinger.deadlines import DeadlineTimers
from tests.faults.proxy import rewriting_proxy
from tests.support.client import expect_error, make_client
from tests.support.client import fake_settings as fake_settings

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


def deadline_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "snapd-deadlines"]


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_closing_a_client_ends_its_deadline_thread(fake: FakeHostinger) -> None:
    before = set(deadline_threads())
    client = make_client(fake.base_url)
    client.get_virtual_machine(fake.vm_ids[0])
    (own,) = set(deadline_threads()) - before

    client.close()

    own.join(5)
    assert not own.is_alive()


def test_the_deadline_keeper_fires_when_its_clock_reaches_the_deadline() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    timers = DeadlineTimers(clock)
    fired = threading.Event()
    timers.schedule(30.0, fired.set)
    try:
        assert not fired.wait(0.05)  # 30 s on the clock, not in real time

        clock.advance(30.0)

        assert fired.wait(5)
    finally:
        timers.stop()


def test_the_client_goes_through_a_plain_http_proxy_named_in_the_environment(
    fake: FakeHostinger, monkeypatch: pytest.MonkeyPatch, no_proxy_settings: None
) -> None:
    with rewriting_proxy(fake.base_url) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        # Nothing listens on port 1: only the proxy can answer for this address.
        with make_client("http://localhost:1") as client:
            machine = client.get_virtual_machine(fake.vm_ids[0])

    assert machine.id == fake.vm_ids[0]
    assert fake.count("GET") == 1


def test_a_proxy_that_is_not_http_is_refused_and_nothing_is_sent(
    fake: FakeHostinger, monkeypatch: pytest.MonkeyPatch, no_proxy_settings: None
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1")
    with make_client(fake.base_url, retry_total_seconds=0) as client:
        error = expect_error(
            ConnectionFailedError, lambda: client.get_virtual_machine(fake.vm_ids[0])
        )

    assert error.reason == "connection"
    assert "the request was not sent" in error.message
    assert fake.count() == 0


def test_the_client_reaches_https_through_a_proxy_tunnel_and_verifies_the_certificate(
    fake: FakeHostinger,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy_settings: None,
    tmp_path: Path,
) -> None:
    certificate, key = make_certificate(tmp_path)
    with tunnel_proxy(fake, certificate, key) as (proxy_url, tunnels):
        monkeypatch.setenv("HTTPS_PROXY", proxy_url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
        with make_client("https://127.0.0.1:1") as client:
            machine = client.get_virtual_machine(fake.vm_ids[0])

    assert machine.id == fake.vm_ids[0]
    assert tunnels == ["127.0.0.1:1"]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            raise AssertionError("openssl must be installed in CI")
        pytest.skip("openssl is needed to make a self-signed certificate")
    certificate, key = folder / "certificate.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


@contextmanager
def tunnel_proxy(
    fake: FakeHostinger, certificate: Path, key: Path
) -> Iterator[tuple[str, list[str]]]:
    """A proxy that accepts ``CONNECT``, plays the TLS server for whatever host is asked
    for, and relays the decrypted bytes to the fake; yields its URL and the tunnels asked
    for."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    tunnels: list[str] = []
    upstream = ("127.0.0.1", int(fake.base_url.rsplit(":", 1)[1]))

    class Tunnel(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request_line = self.rfile.readline().decode()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            tunnels.append(request_line.split()[1])
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            with (
                context.wrap_socket(self.connection, server_side=True) as secure,
                socket.create_connection(upstream) as plain,
            ):
                relay(secure, plain)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tunnel)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tunnels
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def relay(secure: socket.socket, plain: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""

    def copy(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    back = threading.Thread(target=copy, args=(plain, secure), daemon=True)
    back.start()
    copy(secure, plain)
    back.join(5)
