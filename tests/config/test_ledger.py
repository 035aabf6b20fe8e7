"""The ``ledger:`` section as an operator meets it: validation, the password's sources,
``config show`` and a missing PostgreSQL driver."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from snapd.config import ConfigError, load_config
from snapd.config.credentials import CredentialError
from snapd.config.ledger import LedgerSettings, load_ledger_password
from tests.conftest import TOKEN, PolicyWriter

POLICY = """
defaults: {{schedule: "0 3 * * *"}}
vms: [{{id: 1268054}}]
state_dir: .
{ledger}
"""


def policy(write_config: PolicyWriter, ledger: str) -> Path:
    return write_config(POLICY.format(ledger=ledger))


def test_without_a_ledger_section_the_ledger_is_sqlite_in_the_state_dir(
    write_config: PolicyWriter,
) -> None:
    config = load_config(policy(write_config, ""), offline=True)

    assert config.ledger == LedgerSettings()
    assert not config.ledger.shared


def test_a_postgresql_ledger_is_read_with_its_fleet_and_password_file(
    write_config: PolicyWriter,
) -> None:
    path = policy(
        write_config,
        "ledger: {backend: postgresql, dsn: 'postgresql://snapd@db.example.com/snapd',"
        " password_file: ledger-password, fleet: web}",
    )

    ledger = load_config(path, offline=True).ledger

    assert ledger.shared and ledger.fleet == "web"
    assert ledger.password_file == path.parent / "ledger-password"


MULTI_HOST_DSN = "postgresql://snapd@db1:5432,db2:5432/snapd?target_session_attrs=read-write"


def test_a_multi_host_dsn_is_accepted_with_its_sessions_and_lease(
    write_config: PolicyWriter,
) -> None:
    path = policy(
        write_config,
        f"ledger: {{backend: postgresql, dsn: '{MULTI_HOST_DSN}', max_connections: 6,"
        " lock_lease: 1m}",
    )

    ledger = load_config(path, offline=True).ledger

    assert ledger.dsn == MULTI_HOST_DSN
    assert (ledger.max_connections, ledger.lock_lease.total_seconds()) == (6, 60.0)


def test_config_show_masks_a_multi_host_dsn(write_config: PolicyWriter) -> None:
    path = policy(write_config, f"ledger: {{backend: postgresql, dsn: '{MULTI_HOST_DSN}'}}")

    shown = run_cli("config", "show", "-c", str(path))

    assert shown.returncode == 0, shown.stderr
    dsn = "postgresql://snapd@db1:5432,db2:5432/snapd?target_session_attrs=***"
    assert f"dsn: {dsn}" in shown.stdout
    assert "max_connections: 4" in shown.stdout


@pytest.mark.parametrize(
    ("ledger", "problem"),
    [
        (
            "ledger: {backend: postgresql, dsn: 'postgresql://snapd:hunter2@db1,db2:5432/snapd'}",
            "ledger.dsn: must not contain a password",
        ),
        (
            "ledger: {backend: postgresql, dsn: 'postgresql://snapd@db1:5432,db2:x/snapd'}",
            "ledger.dsn: expected a URL like postgresql://snapd@db.example.com/snapd",
        ),
        (
            "ledger: {backend: postgresql, dsn: 'postgresql://db/snapd', max_connections: 3}",
            "ledger.max_connections: expected at least 4",
        ),
        (
            "ledger: {backend: postgresql, dsn: 'postgresql://db/snapd', lock_lease: 0s}",
            "ledger.lock_lease: expected at least 1s",
        ),
        (
            "ledger: {backend: postgresql, dsn: 'postgresql://snapd:hunter2@db/snapd'}",
            "ledger.dsn: must not contain a password; use ledger.password_file",
        ),
        (
            "ledger: {backend: postgresql, dsn: 'postgresql://snapd@db/snapd?password=hunter2'}",
            "ledger.dsn: must not contain a password",
        ),
        ("ledger: {backend: postgresql}", "ledger: backend: postgresql needs a dsn"),
        (
            "ledger: {backend: postgresql, dsn: 'mysql://snapd@db/snapd'}",
            "ledger.dsn: expected a URL like postgresql://snapd@db.example.com/snapd",
        ),
        (
            "ledger: {dsn: 'postgresql://db/snapd'}",
            "ledger.dsn: only used with backend: postgresql",
        ),
        ("ledger: {backend: oracle}", "ledger.backend:"),
    ],
)
def test_a_wrong_ledger_section_is_one_line_that_never_shows_the_password(
    write_config: PolicyWriter, ledger: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(policy(write_config, ledger), offline=True)

    assert any(problem in line for line in raised.value.problems), raised.value.problems
    assert "hunter2" not in str(raised.value)


def test_the_password_comes_from_the_file_then_the_credential_then_pgpassword(
    tmp_path: Path,
) -> None:
    file = tmp_path / "password"
    file.write_text("from-file\n")
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "ledger-password").write_text("from-credential\n")
    shared = LedgerSettings(backend="postgresql", dsn="postgresql://db/snapd")
    with_file = LedgerSettings(
        backend="postgresql", dsn="postgresql://db/snapd", password_file=file
    )
    everything = {"CREDENTIALS_DIRECTORY": str(credentials), "PGPASSWORD": "from-environment"}

    assert load_ledger_password(with_file, everything) == "from-file"
    assert load_ledger_password(shared, everything) == "from-credential"
    assert load_ledger_password(shared, {"PGPASSWORD": "from-environment"}) == "from-environment"
    assert load_ledger_password(shared, {}) is None


def test_a_missing_password_file_is_named_without_a_password(tmp_path: Path) -> None:
    settings = LedgerSettings(
        backend="postgresql", dsn="postgresql://db/snapd", password_file=tmp_path / "nope"
    )

    with pytest.raises(CredentialError, match=r"ledger password file .*nope: file not found"):
        load_ledger_password(settings, {})


def run_cli(*arguments: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys\n{prelude}\nfrom snapd.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN, "PGPASSWORD": "hunter2"},
        check=False,
    )


def test_config_show_shows_the_database_user_its_errors_name_but_only_where_the_password_comes_from(
    write_config: PolicyWriter,
) -> None:
    path = policy(
        write_config,
        "ledger: {backend: postgresql, dsn: 'postgresql://snapd@db.example.com/snapd'}",
    )

    shown = run_cli("config", "show", "-c", str(path))

    assert shown.returncode == 0, shown.stderr
    assert "dsn: postgresql://snapd@db.example.com/snapd" in shown.stdout
    assert "password: PGPASSWORD" in shown.stdout
    assert "hunter2" not in shown.stdout + shown.stderr


def test_a_postgresql_ledger_without_psycopg_is_one_line_and_exit_code_2(
    write_config: PolicyWriter,
) -> None:
    path = policy(
        write_config, "ledger: {backend: postgresql, dsn: 'postgresql://snapd@127.0.0.1:9/snapd'}"
    )

    # As if the extra were not installed: importing psycopg fails.
    ran = run_cli("history", "-c", str(path), prelude="sys.modules['psycopg'] = None")

    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines() == [
        "snapd: error: ledger.backend: postgresql needs psycopg; "
        "install it with: pip install 'hostinger-snapd[postgresql]'"
    ]


def test_without_psycopg_the_sqlite_ledger_works_as_ever(write_config: PolicyWriter) -> None:
    path = policy(write_config, "")

    ran = run_cli("history", "-c", str(path), prelude="sys.modules['psycopg'] = None")

    assert ran.returncode == 0, ran.stderr


def test_a_ledger_password_file_readable_by_others_gets_a_warning_as_the_token_file_does(
    write_config: PolicyWriter, postgres_dsn: str
) -> None:
    path = policy(
        write_config,
        f"ledger: {{backend: postgresql, dsn: '{postgres_dsn}', password_file: ledger-password}}",
    )
    password_file = path.parent / "ledger-password"
    password_file.write_text("hunter2\n")
    password_file.chmod(0o644)

    validated = run_cli("config", "validate", "-c", str(path))

    assert validated.returncode == 0, validated.stderr
    assert (
        f"snapd: warning: ledger password file {password_file} is readable by group or "
        "others; chmod 600 it"
    ) in validated.stderr.splitlines()
    assert "hunter2" not in validated.stdout + validated.stderr
    password_file.chmod(0o600)
    assert "warning" not in run_cli("config", "validate", "-c", str(path)).stderr


def test_a_ledger_password_file_that_starts_with_a_byte_order_mark_gives_the_password_without_it(
    tmp_path: Path,
) -> None:
    password_file = tmp_path / "ledger-password"
    password_file.write_bytes(b"\xef\xbb\xbfhunter2\r\n")
    settings = LedgerSettings(
        backend="postgresql", dsn="postgresql://db/snapd", password_file=password_file
    )

    assert load_ledger_password(settings, {}) == "hunter2"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_validate_reports_a_database_that_refuses_the_connection_and_offline_skips_it(
    write_config: PolicyWriter,
) -> None:
    dsn = f"postgresql://snapd@127.0.0.1:{_closed_port()}/snapd"
    path = policy(write_config, f"ledger: {{backend: postgresql, dsn: '{dsn}'}}")

    validated = run_cli("config", "validate", "-c", str(path))

    assert validated.returncode == 2, validated.stdout
    [error] = validated.stderr.splitlines()
    assert error.startswith(f"snapd: error: ledger {dsn}: ")
    assert "refused" in error and "hunter2" not in error
    assert run_cli("config", "validate", "--offline", "-c", str(path)).returncode == 0


def test_validate_reports_a_database_that_refuses_the_user_and_accepts_a_reachable_one(
    write_config: PolicyWriter, postgres_dsn: str
) -> None:
    unknown_user = postgres_dsn.replace("postgresql://snapd@", "postgresql://nobody_here@")
    refused = policy(write_config, f"ledger: {{backend: postgresql, dsn: '{unknown_user}'}}")
    validated = run_cli("config", "validate", "-c", str(refused))
    assert validated.returncode == 2, validated.stdout
    assert 'role "nobody_here" does not exist' in validated.stderr

    reachable = policy(write_config, f"ledger: {{backend: postgresql, dsn: '{postgres_dsn}'}}")
    assert run_cli("config", "validate", "-c", str(reachable)).returncode == 0
