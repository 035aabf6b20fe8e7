"""Several Hostinger accounts in one policy: names, tokens, and which VM belongs where."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapd.cli import main
from snapd.config import load_config
from snapd.config.credentials import CredentialError, load_account_token
from tests.conftest import PolicyWriter

TWO_ACCOUNTS = """
accounts:
  - name: agency-a
    token_file: a.token
    requests_per_minute: 30
  - name: agency-b
    token_file: b.token
defaults: {schedule: "@daily"}
"""


def _tokens(folder: Path) -> None:
    for name in ("a", "b"):
        token = folder / f"{name}.token"
        token.write_text(f"token-{name}\n")
        token.chmod(0o600)


def test_each_vm_belongs_to_the_account_it_names_with_that_accounts_budget(
    write_config: PolicyWriter,
) -> None:
    path = write_config(
        TWO_ACCOUNTS + "vms:\n  - {id: 1, account: agency-a}\n  - {id: 2, account: agency-b}\n"
    )
    _tokens(path.parent)

    config = load_config(path)

    assert [(vm.id, vm.account) for vm in config.vms] == [(1, "agency-a"), (2, "agency-b")]
    assert [(a.name, a.requests_per_minute) for a in config.account_list()] == [
        ("agency-a", 30),
        ("agency-b", 60),
    ]
    assert config.accounts[0].token_file == path.parent / "a.token"


def test_a_policy_without_accounts_has_one_unnamed_account_from_api(
    write_config: PolicyWriter,
) -> None:
    path = write_config('api: {requests_per_minute: 42}\nvms: [{id: 1, schedule: "@daily"}]\n')

    config = load_config(path, offline=True)

    assert config.accounts == ()
    assert config.vms[0].account == ""
    assert [(a.name, a.requests_per_minute) for a in config.account_list()] == [("", 42)]


def test_with_a_single_listed_account_a_vm_needs_not_name_it(write_config: PolicyWriter) -> None:
    path = write_config('accounts: [{name: solo}]\nvms: [{id: 1, schedule: "@daily"}]\n')

    assert load_config(path, offline=True).vms[0].account == "solo"


@pytest.mark.parametrize(
    ("vms", "expected"),
    [
        ("  - {id: 1}\n", "config.yaml:9: vms[0]: no account: with several 'accounts', every VM"),
        (
            "  - {id: 1, account: agency-c}\n",
            "config.yaml:9: vms[0].account: unknown account 'agency-c' (accounts: agency-a, "
            "agency-b)",
        ),
    ],
)
def test_a_vm_without_a_known_account_is_a_one_line_error_with_exit_code_2(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str], vms: str, expected: str
) -> None:
    path = write_config(TWO_ACCOUNTS + "vms:\n" + vms)

    assert main(["config", "validate", "--offline", "-c", str(path)]) == 2

    assert expected in capsys.readouterr().err


def test_a_duplicate_account_name_and_an_unreadable_token_file_are_reported_together(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        """
        accounts:
          - {name: agency-a, token_file: missing.token}
          - {name: agency-a}
        vms: [{id: 1, schedule: "@daily", account: agency-a}]
        """
    )

    assert main(["config", "validate", "-c", str(path)]) == 2

    errors = capsys.readouterr().err
    assert f"config.yaml:2: accounts[0].token_file: {path.parent}/missing.token: file not " \
        "found" in errors  # fmt: skip
    assert "config.yaml:3: accounts[1].name: duplicate account name 'agency-a'" in errors


def test_an_account_named_in_a_policy_without_accounts_is_an_error(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config('vms: [{id: 1, schedule: "@daily", account: agency-a}]\n')

    assert main(["config", "validate", "--offline", "-c", str(path)]) == 2

    assert "vms[0].account: names an account, but the policy has no 'accounts' list" in (
        capsys.readouterr().err
    )


def test_an_accounts_token_comes_from_its_credential_its_file_or_its_variable(
    tmp_path: Path,
) -> None:
    (tmp_path / "hostinger-api-token-agency-a").write_text("from-credential")
    token_file = tmp_path / "a.token"
    token_file.write_text("from-file")
    token_file.chmod(0o600)
    environment = {"CREDENTIALS_DIRECTORY": str(tmp_path), "HOSTINGER_API_TOKEN_AGENCY_B": "env"}

    assert load_account_token("agency-a", token_file, environment).value == "from-credential"
    assert load_account_token("agency-c", token_file, environment).value == "from-file"
    assert load_account_token("agency-b", None, environment).value == "env"
    # The unnamed account's variable is not another account's fallback.
    with pytest.raises(CredentialError, match="no API token for account agency-d"):
        load_account_token("agency-d", None, {"HOSTINGER_API_TOKEN": "other"})


def test_config_show_lists_the_accounts_with_their_tokens_masked(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(TWO_ACCOUNTS + "vms:\n  - {id: 1, account: agency-a}\n")
    _tokens(path.parent)

    assert main(["config", "show", "-c", str(path)]) == 0

    out = capsys.readouterr().out
    assert f"- name: agency-a\n  base_url: https://developers.hostinger.com\n  token: '*** (from " \
        f"{path.parent}/a.token)'\n  requests_per_minute: 30\n" in out  # fmt: skip
    assert "token-a" not in out
    assert "  account: agency-a\n" in out


def test_config_show_of_a_policy_without_accounts_names_no_account(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config('vms: [{id: 1, schedule: "@daily"}]\n')

    assert main(["config", "show", "-c", str(path)]) == 0

    assert "account" not in capsys.readouterr().out
