"""The fake API's command: ``python -m snapd.fakeapi`` and ``command.run``."""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests

from snapd.fakeapi.command import add_arguments, parse_listen, run

PREFIX = "/api/vps/v1/virtual-machines"


def parse(*arguments: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="snapd fake-api")
    add_arguments(parser)
    return parser.parse_args(list(arguments))


@pytest.fixture
def served() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snapd.fakeapi",
            "--listen",
            "127.0.0.1:0",
            "--token",
            "t",
            "--vms",
            "2",
            "--first-vm-id",
            "500",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with process:
        yield process
        if process.poll() is None:
            process.kill()


def _read_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    prefix = "fake Hostinger API listening on "
    assert first.startswith(prefix), first
    return first.removeprefix(prefix)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_module_prints_its_url_answers_and_stops_cleanly_on_a_signal(
    served: subprocess.Popen[str], stop_signal: signal.Signals
) -> None:
    url = _read_url(served)
    assert served.stdout is not None
    assert served.stdout.readline().strip() == "virtual machines: 500, 501"
    answer = requests.get(url + PREFIX, headers={"Authorization": "Bearer t"}, timeout=5)
    assert [machine["id"] for machine in answer.json()] == [500, 501]
    served.send_signal(stop_signal)
    assert served.wait(timeout=10) == 0
    assert served.stderr is not None
    assert served.stderr.read() == ""


def test_a_bad_listen_address_exits_2_with_one_error_line() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "snapd.fakeapi", "--listen", "localhost", "--token", "t"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert finished.returncode == 2
    assert finished.stdout == ""
    lines = finished.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("snapd fake-api: error: --listen 'localhost'")


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--listen", "127.0.0.1:99999"], "port must be a number"),
        (["--listen", ":8080"], "is not HOST:PORT"),
        (["--fault", "create_snapshot:explode"], "unknown fault kind"),
        (["--fault", "create_snapshot"], "ENDPOINT:KIND"),
        (["--retry-after", "1"], "--retry-after needs a rate limit"),
        (["--fixed-window", "3/1", "--requests-per-minute", "4"], "not both"),
    ],
)
def test_bad_options_make_run_print_one_error_line_and_return_2(
    capsys: pytest.CaptureFixture[str], arguments: list[str], complaint: str
) -> None:
    assert run(parse("--token", "t", *arguments)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("snapd fake-api: error: ")
    assert complaint in captured.err


def test_an_address_already_in_use_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert run(parse("--token", "t", "--listen", f"127.0.0.1:{port}")) == 2
    assert "cannot listen on" in capsys.readouterr().err


def test_an_empty_or_missing_token_file_returns_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    assert run(parse("--token-file", str(empty))) == 2
    assert run(parse("--token-file", str(tmp_path / "absent"))) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        "snapd fake-api: error: the token is empty",
        "snapd fake-api: error: cannot read --token-file: No such file or directory",
    ]


def test_run_serves_with_options_until_told_to_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n", encoding="utf-8")
    arguments = parse(
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        str(token_file),
        "--requests-per-minute",
        "100",
        "--fault",
        "list_vms:status:status=503",
        "--no-snapshot-as",
        "empty",
        "--clock-skew",
        "-3600",
        "--action-list-lag",
        "10",
    )
    stop = threading.Event()
    outcome: list[int] = []
    server = threading.Thread(target=lambda: outcome.append(run(arguments, stop)))
    server.start()
    try:
        url = ""
        deadline = time.monotonic() + 10
        while not url and time.monotonic() < deadline:
            output = capsys.readouterr().out
            url = output.partition("listening on ")[2].partition("\n")[0]
            time.sleep(0.01)
        headers = {"Authorization": "Bearer file-token"}
        first = requests.get(url + PREFIX, headers=headers, timeout=5)
        assert first.status_code == 503
        assert first.headers["X-RateLimit-Limit"] == "100"
        server_time = parsedate_to_datetime(first.headers["Date"]).timestamp()
        assert abs(server_time - (time.time() - 3600)) < 5
        machines = requests.get(url + PREFIX, headers=headers, timeout=5).json()
        snapshot = requests.get(
            f"{url}{PREFIX}/{machines[0]['id']}/snapshot", headers=headers, timeout=5
        )
        assert snapshot.json() == {}
    finally:
        stop.set()
        server.join(timeout=10)
    assert outcome == [0]


def test_the_token_is_required() -> None:
    with pytest.raises(SystemExit):
        parse("--listen", "127.0.0.1:0")


def test_every_option_has_help_text() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for action in parser._actions:
        assert action.help, action.dest


def test_listen_addresses_parse_including_ipv6() -> None:
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
    with pytest.raises(ValueError):
        parse_listen("127.0.0.1:http")


def test_a_fixed_window_and_a_lying_retry_after_are_served_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = parse(
        "--listen", "127.0.0.1:0", "--token", "t", "--fixed-window", "2/60", "--retry-after", "1"
    )
    stop = threading.Event()
    outcome: list[int] = []
    server = threading.Thread(target=lambda: outcome.append(run(arguments, stop)))
    server.start()
    try:
        url = ""
        deadline = time.monotonic() + 10
        while not url and time.monotonic() < deadline:
            url = capsys.readouterr().out.partition("listening on ")[2].partition("\n")[0]
            time.sleep(0.01)
        headers = {"Authorization": "Bearer t"}
        answers = [requests.get(url + PREFIX, headers=headers, timeout=5) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert answers[2].headers["Retry-After"] == "1"
        assert answers[2].headers["X-RateLimit-Limit"] == "2"
    finally:
        stop.set()
        server.join(timeout=10)
    assert outcome == [0]


@pytest.mark.parametrize("text", ["30", "0/10", "30/0", "x/y", "30/-1"])
def test_a_malformed_fixed_window_is_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse("--token", "t", "--fixed-window", text)
    assert stopped.value.code == 2
    assert "expected N/W" in capsys.readouterr().err
