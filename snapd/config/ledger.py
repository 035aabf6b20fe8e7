"""The ``ledger:`` section: where the ledger lives (SQLite in ``state_dir`` or PostgreSQL).

``backend: sqlite`` (the default) keeps the ledger in ``state_dir`` as always. With
``backend: postgresql`` the ledger is shared through ``dsn`` by every replica of one
``fleet``; the password never sits in the policy: it comes, in this order, from
``password_file``, ``$CREDENTIALS_DIRECTORY/ledger-password`` (systemd ``LoadCredential=``),
``$PGPASSWORD``, else from nowhere (libpq may still read ``~/.pgpass``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from snapd.config.credentials import read_secret_file
from snapd.config.durations import format_duration, parse_duration
from snapd.config.masking import mask_url
from snapd.config.yaml_source import KeyPath

Reporter = Callable[[KeyPath, str], None]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
DEFAULT_FLEET = "default"
PASSWORD_CREDENTIAL_NAME = "ledger-password"
PASSWORD_VARIABLE = "PGPASSWORD"
DSN_SCHEMES = ("postgresql", "postgres")
EXPECTED_DSN = "expected a URL like postgresql://snapd@db.example.com/snapd, got "
#: Database sessions one daemon opens at most, by default (ledger, leadership, VM locks).
DEFAULT_MAX_CONNECTIONS = 4
#: The fewest that work: the ledger's, the leadership's, the VM locks' liveness session
#: and one for the VM locks' statements.
MIN_MAX_CONNECTIONS = 4
DEFAULT_LOCK_LEASE = timedelta(seconds=30)
MIN_LOCK_LEASE = timedelta(seconds=1)


@dataclass(frozen=True)
class LedgerSettings:
    """Where the ledger is; ``dsn`` never holds a password (refused when the file is read)."""

    backend: str = SQLITE
    dsn: str | None = None
    password_file: Path | None = None
    fleet: str = DEFAULT_FLEET
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    lock_lease: timedelta = DEFAULT_LOCK_LEASE

    @property
    def shared(self) -> bool:
        """True when the ledger is in PostgreSQL, shared by replicas."""
        return self.backend == POSTGRESQL

    def shown(self) -> dict[str, Any]:
        """The settings for ``config show``: the DSN masked (its user shown: not a secret,
        and the database's errors name it), the password never."""
        if not self.shared:
            return {"backend": self.backend}
        return {
            "backend": self.backend,
            "dsn": mask_url(self.dsn or "", keep_user=True),
            "password": password_source(self) or "(none: libpq defaults, e.g. ~/.pgpass)",
            "fleet": self.fleet,
            "max_connections": self.max_connections,
            "lock_lease": format_duration(self.lock_lease),
        }


def build_ledger_settings(
    data: dict[str, Any], policy_path: Path, report: Reporter
) -> LedgerSettings:
    """The ``ledger:`` section (already checked against the schema) as settings.

    Reports a PostgreSQL backend without ``dsn``, a DSN with a password in it, and
    PostgreSQL-only keys under ``backend: sqlite``.
    """
    backend = data.get("backend", SQLITE)
    dsn = data.get("dsn")
    password_file = data.get("password_file")
    if backend == SQLITE:
        for key in ("dsn", "password_file", "fleet", "max_connections", "lock_lease"):
            if key in data:
                report(("ledger", key), "only used with backend: postgresql")
        return LedgerSettings()
    if dsn is None:
        report(("ledger",), "backend: postgresql needs a dsn")
    else:
        problem = dsn_problem(dsn)
        if problem is not None:
            report(("ledger", "dsn"), problem)
    max_connections = data.get("max_connections", DEFAULT_MAX_CONNECTIONS)
    if max_connections < MIN_MAX_CONNECTIONS:
        report(
            ("ledger", "max_connections"),
            f"expected at least {MIN_MAX_CONNECTIONS} (the ledger's, the leadership's and "
            f"two sessions for the VM locks), got {max_connections}",
        )
    lock_lease = DEFAULT_LOCK_LEASE
    if "lock_lease" in data:
        lock_lease = parse_duration(data["lock_lease"])
        if lock_lease < MIN_LOCK_LEASE:
            report(("ledger", "lock_lease"), f"expected at least 1s, got {data['lock_lease']}")
    return LedgerSettings(
        backend=backend,
        dsn=dsn,
        password_file=None if password_file is None else policy_path.parent / password_file,
        fleet=data.get("fleet", DEFAULT_FLEET),
        max_connections=max_connections,
        lock_lease=lock_lease,
    )


def dsn_problem(dsn: str) -> str | None:
    """Why ``dsn`` cannot be used, or None. A password in it is refused: a policy file is
    read by many (``config show``, reviews, backups) and a secret does not belong there.

    libpq's multi-host form (``postgresql://snapd@db1:5432,db2:5432/snapd``, usually with
    ``?target_session_attrs=read-write``) is accepted: every host's port must be a number.
    """
    try:
        parts = urlsplit(dsn)
        parameters = parse_qsl(parts.query)
    except ValueError:
        return EXPECTED_DSN + repr(mask_url(dsn))
    userinfo, _, hosts = parts.netloc.rpartition("@")
    ports_valid = all(_port_valid(host) for host in hosts.split(","))
    if (
        parts.scheme not in DSN_SCHEMES
        or not ports_valid
        or (not hosts.strip(",") and not parts.path.strip("/"))
    ):
        return EXPECTED_DSN + repr(mask_url(dsn))
    if ":" in userinfo or any(name == "password" for name, _ in parameters):
        return (
            "must not contain a password; use ledger.password_file, the systemd credential "
            f"'{PASSWORD_CREDENTIAL_NAME}' or ${PASSWORD_VARIABLE}"
        )
    return None


def _port_valid(host: str) -> bool:
    """True when ``host`` (``name``, ``name:port``, ``[v6]:port`` or empty) has no port
    or a numeric one up to 65535."""
    _, bracket, rest = host.rpartition("]")
    candidate = rest if bracket else host
    _, colon, port = candidate.rpartition(":")
    return not colon or (port.isdigit() and 0 < int(port) <= 65535)


def password_source(
    settings: LedgerSettings, environ: Mapping[str, str] | None = None
) -> str | None:
    """Where :func:`load_ledger_password` would take the password from, or None."""
    environment = os.environ if environ is None else environ
    if settings.password_file is not None:
        return str(settings.password_file)
    credentials = environment.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / PASSWORD_CREDENTIAL_NAME).is_file():
        return f"systemd credential {PASSWORD_CREDENTIAL_NAME}"
    if environment.get(PASSWORD_VARIABLE):
        return PASSWORD_VARIABLE
    return None


def load_ledger_password(
    settings: LedgerSettings, environ: Mapping[str, str] | None = None
) -> str | None:
    """The database password, or None to leave it to libpq; raise ``CredentialError``
    (one line, never the password) when a named file cannot be read or is empty."""
    environment = os.environ if environ is None else environ
    path = _password_path(settings, environment)
    if path is None:
        return environment.get(PASSWORD_VARIABLE) or None
    return read_secret_file(path, "ledger password file")


def password_file_warning(
    settings: LedgerSettings, environ: Mapping[str, str] | None = None
) -> str | None:
    """A one-line warning when the password file in use is readable by group or others,
    as for the token file; None otherwise (also when there is no such file or no
    PostgreSQL ledger: reading it is :func:`load_ledger_password`'s to report)."""
    if not settings.shared:
        return None
    path = _password_path(settings, os.environ if environ is None else environ)
    try:
        mode = None if path is None else path.stat().st_mode
    except OSError:
        return None
    if mode is None or not mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    return f"ledger password file {path} is readable by group or others; chmod 600 it"


def _password_path(settings: LedgerSettings, environment: Mapping[str, str]) -> Path | None:
    """The password file in use: ``password_file``, else the systemd credential, if any."""
    if settings.password_file is not None:
        return settings.password_file
    credentials = environment.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / PASSWORD_CREDENTIAL_NAME).is_file():
        return Path(credentials) / PASSWORD_CREDENTIAL_NAME
    return None
