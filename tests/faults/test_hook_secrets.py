"""A hook is someone else's program: snapd's secrets stay out of its environment.

The hook here dumps its whole environment; snapd runs with a database password, a token
and a secret in its own, as a real deployment does.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from snapd.checks.hooks import hook_environment, run_hook
from snapd.cli import main
from snapd.config import load_config
from tests.conftest import PolicyWriter

DUMP = "import json, os; print(json.dumps(dict(os.environ)))"
SLOT = datetime(2025, 1, 1, 3, tzinfo=UTC)


def hook_policy(write_config: PolicyWriter, environment: str) -> str:
    path = write_config(
        f"""
        api: {{base_url: 'http://127.0.0.1:1'}}
        defaults: {{schedule: "0 3 * * *"}}
        vms:
          - id: 7
            pre_hook:
              command: ['{sys.executable}', '-c', '{DUMP}']
              env: {environment}
        """
    )
    return str(path)


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """snapd's own environment: secrets, a setting the policy names, and one it does not."""
    for name, value in {
        "PGPASSWORD": "pg-secret",
        "PGHOST": "db.internal",
        "FOO_TOKEN": "foo-secret",
        "BAR_SECRET": "bar-secret",
        "LEDGER_PASSWORD": "ledger-secret",
        "HOSTINGER_API_TOKEN": "api-secret",
        "CREDENTIALS_DIRECTORY": "/run/credentials/snapd.service",
        "BACKUP_BUCKET": "nightly",
        "UNNAMED_SETTING": "not-passed",
        "LC_TIME": "C",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("secrets")
def test_a_hook_sees_the_allow_list_and_what_its_env_names_but_no_secret(
    write_config: PolicyWriter,
) -> None:
    config = load_config(Path(hook_policy(write_config, "[BACKUP_BUCKET]")))
    hook = config.vms[0].pre_hook
    assert hook is not None

    result = run_hook(hook, hook_environment(7, SLOT))

    assert result.ok, result.cause
    seen = json.loads(result.output)
    assert seen["BACKUP_BUCKET"] == "nightly"
    assert seen["SNAPD_VM_ID"] == "7" and seen["SNAPD_SLOT"] == "2025-01-01T03:00:00Z"
    assert seen["LC_TIME"] == "C" and "PATH" in seen
    assert "UNNAMED_SETTING" not in seen
    assert not [name for name in seen if name.startswith("PG")]
    assert not {"FOO_TOKEN", "BAR_SECRET", "LEDGER_PASSWORD"} & set(seen)
    assert not {"HOSTINGER_API_TOKEN", "CREDENTIALS_DIRECTORY"} & set(seen)
    assert "secret" not in result.output


@pytest.mark.parametrize(
    "name", ["PGPASSWORD", "PGSERVICEFILE", "FOO_TOKEN", "BAR_SECRET", "db_password"]
)
def test_config_validate_refuses_a_hook_env_that_names_a_secret(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = hook_policy(write_config, f"[BACKUP_BUCKET, {name}]")

    assert main(["config", "validate", "-c", path]) == 2

    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert f"vms[0].pre_hook.env[1]: {name} is withheld from hooks" in error


def test_config_validate_refuses_a_hook_env_entry_that_is_not_a_variable_name(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hook_policy(write_config, "['A=B']")

    assert main(["config", "validate", "-c", path]) == 2

    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert "vms[0].pre_hook.env[0]: expected a variable name" in error


@pytest.mark.usefixtures("secrets")
def test_config_show_lists_the_names_a_hook_env_passes_but_no_value(
    write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hook_policy(write_config, "[BACKUP_BUCKET]")

    assert main(["config", "show", "-c", path]) == 0

    out = capsys.readouterr().out
    assert "    env:\n    - BACKUP_BUCKET\n" in out
    assert "nightly" not in out and "-secret" not in out
