"""Where the token comes from, and that it never shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snapd.config import credentials
from snapd.config.credentials import CredentialError, load_token
from snapd.hostinger.access import check_token

SECRET = "s3cr3t-token-value"


@pytest.fixture(autouse=True)
def no_container_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(credentials, "CONTAINER_SECRET", tmp_path / "no-such-secret")


def test_the_token_file_of_the_policy_comes_before_the_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET + "\n")
    token_file.chmod(0o600)
    token = load_token(token_file, {"HOSTINGER_API_TOKEN": "other"})
    assert (token.value, token.warning) == (SECRET, None)


def test_the_systemd_credential_comes_before_the_environment(tmp_path: Path) -> None:
    (tmp_path / "hostinger-api-token").write_text(SECRET)
    environment = {"CREDENTIALS_DIRECTORY": str(tmp_path), "HOSTINGER_API_TOKEN": "other"}
    assert load_token(None, environment).value == SECRET


def test_the_credential_the_service_manager_handed_over_wins_over_the_token_file(
    tmp_path: Path,
) -> None:
    credentials_directory = tmp_path / "credentials"
    credentials_directory.mkdir()
    (credentials_directory / "hostinger-api-token").write_text(SECRET)
    # Root's own copy, which the service's dynamic user could not read.
    token_file = tmp_path / "unreadable-for-the-service"
    environment = {"CREDENTIALS_DIRECTORY": str(credentials_directory)}
    token = load_token(token_file, environment)
    assert (token.value, token.source) == (
        SECRET,
        str(credentials_directory / "hostinger-api-token"),
    )


def test_a_credentials_directory_without_the_token_leaves_it_to_the_token_file(
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    token_file.chmod(0o600)
    environment = {"CREDENTIALS_DIRECTORY": str(tmp_path / "ledger-password-only")}
    assert load_token(token_file, environment).value == SECRET


def test_the_environment_is_the_last_resort() -> None:
    token = load_token(None, {"HOSTINGER_API_TOKEN": SECRET})
    assert (token.value, token.source) == (SECRET, "HOSTINGER_API_TOKEN")


def test_a_missing_token_names_every_place_it_was_looked_for() -> None:
    with pytest.raises(CredentialError, match="HOSTINGER_API_TOKEN") as caught:
        load_token(None, {})
    assert "hostinger-api-token" in str(caught.value)


def test_a_token_file_readable_by_others_gets_a_warning(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    token_file.chmod(0o644)
    assert "chmod 600" in (load_token(token_file, {}).warning or "")


def test_a_token_file_readable_only_by_snapds_own_group_gets_no_warning(tmp_path: Path) -> None:
    # A Kubernetes Secret under fsGroup: group-readable, its group the one snapd runs as.
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    os.chown(token_file, -1, os.getegid())
    token_file.chmod(0o440)
    assert load_token(token_file, {}).warning is None


def test_a_token_file_readable_by_another_group_gets_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    token_file.chmod(0o640)
    monkeypatch.setattr(os, "getegid", lambda: token_file.stat().st_gid + 1)
    assert "chmod 600" in (load_token(token_file, {}).warning or "")


def test_an_unreadable_token_file_is_a_clear_error_without_the_token(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match=r"token file .*: file not found"):
        load_token(tmp_path / "absent", {})
    with pytest.raises(CredentialError, match="cannot read"):
        load_token(tmp_path, {})  # a directory


def test_the_token_never_shows_in_repr_or_str() -> None:
    token = load_token(None, {"HOSTINGER_API_TOKEN": SECRET})
    assert SECRET not in repr(token)
    assert SECRET not in str(token)


def test_a_token_file_the_service_cannot_read_is_not_a_policy_error_when_the_credential_wins(
    tmp_path: Path,
) -> None:
    from snapd.config import ConfigError, load_config

    policy = tmp_path / "config.yaml"
    policy.write_text(
        f"api: {{token_file: {tmp_path / 'missing'}}}\n"
        f"state_dir: {tmp_path}\nvms: [{{id: 7, schedule: '@daily'}}]\n"
    )
    (tmp_path / "credentials").mkdir()
    (tmp_path / "credentials" / "hostinger-api-token").write_text(SECRET)
    environment = {"CREDENTIALS_DIRECTORY": str(tmp_path / "credentials")}
    assert load_config(policy, environ=environment).api.token_file == tmp_path / "missing"
    with pytest.raises(ConfigError, match=r"api\.token_file: .*file not found"):
        load_config(policy, environ={})


def test_a_token_file_that_starts_with_a_byte_order_mark_gives_the_token_without_it(
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(b"\xef\xbb\xbf" + SECRET.encode() + b"\r\n")
    token_file.chmod(0o600)
    token = load_token(token_file, {})
    assert token.value == SECRET
    assert check_token(token.value) == SECRET
