"""A token the API refuses: the error says where that token came from, to fix it there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.fakeapi import FakeHostinger
from tests.conftest import TOKEN, PolicyWriter


@pytest.fixture
def live() -> Iterator[FakeHostinger]:
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=0.2, seed=3) as running:
        yield running


def _policy(write_config: PolicyWriter, live: FakeHostinger, tmp_path: Path, api: str = "") -> Path:
    return write_config(
        f"""
        api: {{base_url: '{live.base_url}', timeout: 5s{api}}}
        vms: [{{id: {live.vm_ids[0]}, schedule: "@daily"}}]
        state_dir: {tmp_path}
        log: {{format: json}}
        """
    )


def test_once_names_the_environment_variable_whose_token_was_refused(
    write_config: PolicyWriter,
    live: FakeHostinger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", "revoked")
    path = _policy(write_config, live, tmp_path)
    assert main(["once", "-c", str(path), str(live.vm_ids[0])]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("snapd:")]
    assert errors == [
        "snapd: error: the API refused the token from the environment variable "
        "HOSTINGER_API_TOKEN; replace it there"
    ]
    assert live.count("POST") == 0


def test_status_names_the_token_file_whose_token_was_refused(
    write_config: PolicyWriter,
    live: FakeHostinger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("HOSTINGER_API_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    token_file = tmp_path / "token"
    token_file.write_text("revoked\n")
    token_file.chmod(0o600)
    path = _policy(write_config, live, tmp_path, f", token_file: '{token_file}'")
    assert main(["status", "-c", str(path)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"snapd: error: the API refused the token from api.token_file {token_file}; "
        "replace it there"
    )
