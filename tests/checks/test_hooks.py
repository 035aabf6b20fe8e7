"""Health checks and hooks: they veto a snapshot when something is wrong, and never raise."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import structlog

from snapd.checks.hooks import (
    OUTPUT_LIMIT,
    HookResult,
    hook_environment,
    run_health_check,
    run_hook,
)
from snapd.config import HealthCheck, HookCommand

MACHINE = 1268054
SLOT = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
SLOW_ANSWER_SECONDS = 0.8
# What a hook may take beyond its timeout: killing the group and reading the pipe's rest.
HOOK_SLACK_SECONDS = 1.5


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(SLOW_ANSWER_SECONDS)
        status = {"/unavailable": 503, "/no-content": 204, "/unauthorised": 401}.get(self.path, 200)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def check(url: str, *, timeout: float = 5.0, expect: tuple[int, ...] = ()) -> HealthCheck:
    return HealthCheck(url=url, timeout=timedelta(seconds=timeout), expect_status=expect)


def python(code: str, timeout: timedelta = timedelta(seconds=30)) -> HookCommand:
    return HookCommand(command=(sys.executable, "-c", code), timeout=timeout)


# Health checks


def test_a_healthy_answer_lets_the_snapshot_go_ahead(server_url: str) -> None:
    result = run_health_check(check(f"{server_url}/healthz"))

    assert result == HookResult(True, f"GET {server_url}/healthz answered 200", cause="status 200")


def test_an_unavailable_service_vetoes_the_snapshot(server_url: str) -> None:
    result = run_health_check(check(f"{server_url}/unavailable"))

    assert result == HookResult(
        False, f"GET {server_url}/unavailable answered 503", cause="status 503"
    )


def test_expected_statuses_replace_the_any_2xx_rule(server_url: str) -> None:
    assert not run_health_check(check(f"{server_url}/healthz", expect=(204,))).ok
    assert run_health_check(check(f"{server_url}/no-content", expect=(204,))).ok
    assert run_health_check(check(f"{server_url}/unavailable", expect=(503,))).ok


def test_a_refused_connection_vetoes_with_a_clear_reason() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now.

    result = run_health_check(check(f"http://127.0.0.1:{port}/healthz"))

    assert not result.ok
    assert result.detail == f"GET http://127.0.0.1:{port}/healthz failed: connection refused"
    assert result.cause == "connection refused"


def test_a_check_that_answers_too_late_vetoes_the_snapshot(server_url: str) -> None:
    started = time.monotonic()

    result = run_health_check(check(f"{server_url}/slow", timeout=0.5))

    assert result == HookResult(
        False, f"GET {server_url}/slow timed out after 0.5s", cause="timed out after 0.5s"
    )
    assert time.monotonic() - started < SLOW_ANSWER_SECONDS


@pytest.fixture(scope="module")
def self_signed_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
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
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_check_against_an_untrusted_certificate_vetoes_the_snapshot(
    self_signed_server_url: str,
) -> None:
    result = run_health_check(check(f"{self_signed_server_url}/healthz"))

    assert not result.ok
    assert result.detail.startswith(
        f"GET {self_signed_server_url}/healthz failed: TLS certificate not trusted: "
    )


def test_a_given_session_is_used_for_the_check(server_url: str) -> None:
    class CountingSession(requests.Session):
        calls = 0

        def get(self, url: str | bytes, **options: Any) -> requests.Response:
            CountingSession.calls += 1
            return super().get(url, **options)

    with CountingSession() as session:
        assert run_health_check(check(f"{server_url}/healthz"), session).ok
    assert CountingSession.calls == 1


def test_credentials_and_query_of_the_check_url_stay_out_of_the_detail_and_the_log(
    server_url: str,
) -> None:
    host = server_url.removeprefix("http://")

    with structlog.testing.capture_logs() as logs:
        result = run_health_check(check(f"http://monitor:s3cret@{host}/healthz?key=k3y"))

    assert result.ok
    assert result.detail == f"GET http://***:***@{host}/healthz?key=*** answered 200"
    assert "s3cret" not in repr(logs)
    assert "k3y" not in repr(logs)
    assert f"http://***:***@{host}/healthz?key=***" in repr(logs)


def test_a_malformed_check_url_vetoes_instead_of_raising() -> None:
    result = run_health_check(check("not a url"))

    assert not result.ok
    assert result.detail == "GET not a url failed: invalid URL"


def test_a_health_check_is_logged_with_its_outcome(server_url: str) -> None:
    with structlog.testing.capture_logs() as logs:
        run_health_check(check(f"{server_url}/unavailable"), virtual_machine_id=MACHINE)

    assert logs == [
        {
            "event": "health_check_finished",
            "log_level": "warning",
            "vm": MACHINE,
            "ok": False,
            "detail": f"GET {server_url}/unavailable answered 503",
        }
    ]


# Hooks


def test_a_hook_that_exits_zero_succeeds() -> None:
    result = run_hook(python("pass"), {})

    assert result == HookResult(True, "exit code 0", 0, "", "exit code 0")


def test_a_hook_that_exits_non_zero_fails_with_its_exit_code() -> None:
    result = run_hook(python("import sys; sys.exit(3)"), {})

    assert result == HookResult(False, "exit code 3", 3, "", "exit code 3")


def test_the_output_of_a_hook_is_captured_with_stderr_merged() -> None:
    code = "import sys; print('to stdout', flush=True); print('to stderr', file=sys.stderr)"

    result = run_hook(python(code), {})

    assert result.ok
    assert result.output == "to stdout\nto stderr\n"


def test_a_hook_sees_its_environment_and_the_inherited_variables_its_env_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INHERITED_SETTING", "kept")
    code = (
        "import os; print(os.environ['SNAPD_VM_ID'], os.environ['SNAPD_SLOT'], "
        "os.environ['SNAPD_RESULT'], os.environ['INHERITED_SETTING'])"
    )
    hook = replace(python(code), environment=("INHERITED_SETTING",))

    result = run_hook(hook, hook_environment(MACHINE, SLOT, "success"))

    assert result.output == f"{MACHINE} 2025-01-01T03:00:00Z success kept\n"


def test_a_hook_reads_no_input() -> None:
    result = run_hook(python("import sys; print(repr(sys.stdin.read()))"), {})

    assert result.output == "''\n"


def test_a_hook_that_runs_too_long_is_killed_with_its_children(tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '30'])\n"
        f"open({str(child_pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()

    result = run_hook(python(code, timeout=timedelta(seconds=1)), {})

    assert time.monotonic() - started < 1 + HOOK_SLACK_SECONDS
    assert not result.ok
    assert result.detail == result.cause == "timed out after 1s"
    assert result.output == "started\n"
    assert _has_ended(int(child_pid_file.read_text()))


def test_a_missing_executable_fails_without_raising(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-hook")

    result = run_hook(HookCommand((missing, "--flag"), timedelta(seconds=5)), {})

    assert result == HookResult(
        False, f"command not found: {missing}", cause=f"command not found: {missing}"
    )


def test_a_file_that_is_not_executable_fails_without_raising(tmp_path: Path) -> None:
    script = tmp_path / "hook.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)

    result = run_hook(HookCommand((str(script),), timedelta(seconds=5)), {})

    assert not result.ok
    assert result.exit_code is None


def test_an_empty_or_unusable_command_fails_without_raising() -> None:
    empty = run_hook(HookCommand((), timedelta(seconds=5)), {})
    assert (empty.ok, empty.detail, empty.cause) == (False, "empty command", "empty command")
    nul_byte = run_hook(python("pass\0"), {})
    assert not nul_byte.ok
    assert nul_byte.detail.startswith(f"command cannot start: {sys.executable}: ")


def test_a_hook_killed_by_a_signal_names_the_signal() -> None:
    result = run_hook(python("import os, signal; os.kill(os.getpid(), signal.SIGTERM)"), {})

    assert (result.ok, result.cause, result.exit_code) == (False, "killed by signal SIGTERM", -15)


def test_long_hook_output_keeps_only_its_end() -> None:
    code = "print('a' * 10000); print('the end')"

    result = run_hook(python(code), {})

    assert len(result.output) == OUTPUT_LIMIT
    assert result.output.endswith("a\nthe end\n")


def test_a_failed_hook_is_logged_with_its_output() -> None:
    code = "import sys; print('disk full'); sys.exit(3)"

    with structlog.testing.capture_logs() as logs:
        run_hook(python(code), hook_environment(MACHINE, SLOT))

    assert logs == [
        {
            "event": "hook_finished",
            "log_level": "warning",
            "vm": MACHINE,
            "ok": False,
            "detail": "exit code 3: disk full",
            "exit_code": 3,
            "command": sys.executable,
        },
        {"event": "hook_output", "log_level": "info", "vm": MACHINE, "output": "disk full\n"},
    ]


def test_a_successful_hook_logs_its_output_at_debug_level() -> None:
    with structlog.testing.capture_logs() as logs:
        run_hook(python("print('all good')"), {})

    assert [(entry["event"], entry["log_level"]) for entry in logs] == [
        ("hook_finished", "info"),
        ("hook_output", "debug"),
    ]


# Environment


def test_the_hook_environment_names_the_machine_the_slot_and_the_result() -> None:
    vilnius = timezone(timedelta(hours=2))

    assert hook_environment(MACHINE, datetime(2025, 1, 1, 5, 0, tzinfo=vilnius)) == {
        "SNAPD_VM_ID": str(MACHINE),
        "SNAPD_SLOT": "2025-01-01T03:00:00Z",
    }
    assert hook_environment(MACHINE, None, "failed") == {
        "SNAPD_VM_ID": str(MACHINE),
        "SNAPD_SLOT": "",
        "SNAPD_RESULT": "failed",
    }
    with pytest.raises(ValueError, match="naive"):
        hook_environment(MACHINE, datetime(2025, 1, 1, 3, 0))  # noqa: DTZ001 - naive on purpose


def _has_ended(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie (the container's init may never reap it)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if status.rpartition(")")[2].split()[0] in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_a_hook_never_sees_the_api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", "secret-token-value")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", "/run/credentials/snapd.service")
    script = "import os; print(sorted(k for k in os.environ if 'TOKEN' in k or 'CREDENTIALS' in k))"
    result = run_hook(
        HookCommand((sys.executable, "-c", script), timedelta(seconds=30)),
        hook_environment(7, None),
    )
    assert result.ok
    assert result.output.strip() == "[]"


def test_a_hook_logs_its_command_but_never_its_environment() -> None:
    environment = {**hook_environment(MACHINE, SLOT), "EXTRA_SETTING": "do-not-log-this"}

    with structlog.testing.capture_logs() as logs:
        result = run_hook(python("import sys; sys.exit(1)"), environment)

    assert not result.ok
    assert logs[0]["command"] == sys.executable
    assert "do-not-log-this" not in repr(logs)
    assert "2025-01-01T03:00:00Z" not in repr(logs)


def test_a_failed_hook_names_its_exit_code_and_the_last_line_it_printed() -> None:
    code = (
        "import sys; print('checking', flush=True); print('disk full', file=sys.stderr); "
        "sys.exit(3)"
    )

    result = run_hook(python(code), {})

    assert result.cause == "exit code 3: disk full"
    assert result.ok is False


def test_a_hook_that_leaves_a_child_holding_its_output_returns_at_its_deadline(
    tmp_path: Path,
) -> None:
    child_pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess\n"
        "child = subprocess.Popen(['sleep', '30'])\n"
        f"open({str(child_pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
    )
    started = time.monotonic()

    result = run_hook(python(code, timeout=timedelta(seconds=1)), {})

    assert time.monotonic() - started < 1 + HOOK_SLACK_SECONDS
    assert result.ok
    assert result.output == "started\n"
    os.kill(int(child_pid_file.read_text()), signal.SIGKILL)


class _TricklingHandler(BaseHTTPRequestHandler):
    """Sends a header byte every 0.1 s: each read is quick, the answer never ends."""

    def do_GET(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        with contextlib.suppress(OSError):
            for _ in range(100):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.1)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def trickling_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TricklingHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_that_trickles_its_answer_is_cut_off_at_the_total_timeout(
    trickling_url: str,
) -> None:
    started = time.monotonic()

    with structlog.testing.capture_logs() as logs:
        result = run_health_check(check(f"{trickling_url}/healthz", timeout=0.5))

    assert time.monotonic() - started < 0.5 + 0.5
    assert result == HookResult(
        False, f"GET {trickling_url}/healthz timed out after 0.5s", cause="timed out after 0.5s"
    )
    assert logs[0]["detail"] == result.detail
    assert _worker_ends("snapd-health-check", within=1.0)


def _worker_ends(name: str, within: float) -> bool:
    """True once no thread called ``name`` is left: a cut-off check leaves nothing behind."""
    deadline = time.monotonic() + within
    while any(thread.name == name for thread in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_an_unauthorised_answer_is_named_by_its_status(server_url: str) -> None:
    result = run_health_check(check(f"{server_url}/unauthorised"))

    assert (result.ok, result.cause) == (False, "status 401")
