"""Errors that will not heal by waiting end a command at once, with the reason."""

from __future__ import annotations

import http.server
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TOKEN


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def untrusted_server(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 whose certificate is self-signed; yields its URL."""
    certificate, key = tmp_path / "certificate.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _policy(tmp_path: Path, base_url: str) -> Path:
    state_dir = tmp_path / "state"
    state_dir.mkdir(exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(
        f"api: {{base_url: '{base_url}', timeout: 5s}}\n"
        'defaults: {schedule: "0 3 * * *"}\n'
        "vms:\n  - {id: 100, name: web-1}\n"
        f"state_dir: {state_dir}\n"
        "log: {format: json}\n"
    )
    return path


def _snapd(*arguments: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "snapd.cli", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN},
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return finished, time.monotonic() - started


@pytest.mark.parametrize("command", ["status", "once"])
def test_an_untrusted_certificate_fails_at_once_and_says_so(
    untrusted_server: str, tmp_path: Path, command: str
) -> None:
    policy = _policy(tmp_path, untrusted_server)
    arguments = [command, "-c", str(policy)] + (["100"] if command == "once" else [])
    finished, seconds = _snapd(*arguments)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert seconds < 5, output
    assert "the API's TLS certificate was not trusted: self-signed certificate" in output
    assert "hostinger_request_retry" not in output


def test_a_refused_connection_gives_up_within_seconds_on_the_command_line(
    tmp_path: Path,
) -> None:
    policy = _policy(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    finished, seconds = _snapd("status", "-c", str(policy))
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert seconds < 15, output
    assert "could not connect (NewConnectionError)" in output
