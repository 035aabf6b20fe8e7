"""A throwaway PostgreSQL cluster for the tests (and ``bench/failover.py``): ``initdb`` and
``pg_ctl`` in a temporary folder, trust authentication, a unix socket in that folder and a
free TCP port on loopback; run as an unprivileged user when run as root; removed at the end.

Outside CI (``CI`` unset) a machine without PostgreSQL skips these tests with the reason;
in CI a missing PostgreSQL fails them (``.ci/run`` installs Debian's ``postgresql``).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

UNPRIVILEGED_USER = "nobody"
SUPERUSER = "snapd"


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else Debian's
    ``/usr/lib/postgresql/<version>/bin`` (newest first), else None."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(path.split("/")[-2]) if path.split("/")[-2].isdigit() else 0,
    )
    for folder in reversed(candidates):
        if (Path(folder) / "pg_ctl").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    return None


def unavailable(reason: str) -> None:
    """Skip outside CI, fail in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so PostgreSQL tests must run)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """A running cluster; :meth:`new_database` gives each test its own database."""

    def __init__(self, binaries: Path, folder: Path) -> None:
        self.binaries = binaries
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            folder.chmod(0o755)
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            os.chown(folder, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", UNPRIVILEGED_USER, "--"]

    def _run(self, *command: str) -> None:
        subprocess.run(
            [*self._as_user, *command], check=True, capture_output=True, text=True, timeout=60
        )

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                str(self.binaries / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                "--auth=trust", "--no-sync", "-E", "UTF8",
            )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.folder} -c fsync=off"
        )
        self._run(
            str(self.binaries / "pg_ctl"), "-D", str(self.data), "-l",
            str(self.folder / "server.log"), "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop at once (every session ends, as when the server crashes) and start again."""
        self.stop("immediate")
        self.start()

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.folder}&port={self.port}"

    def new_database(self) -> str:
        """A fresh empty database; its DSN."""
        name = f"snapd_test_{next(self._names)}"
        self.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)

    def execute(self, sql: str, *parameters: Any, dsn: str | None = None) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(dsn or self.dsn(), autocommit=True) as connection:
            cursor = connection.execute(sql, parameters or None)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One cluster for the session (skipped outside CI when PostgreSQL is missing)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed: pip install -e '.[test]'")
    binaries = find_binaries()
    if binaries is None:
        unavailable("PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib)")
    assert binaries is not None
    with throwaway_cluster(binaries) as cluster:
        yield cluster


@contextlib.contextmanager
def throwaway_cluster(binaries: Path) -> Iterator[PostgresCluster]:
    """A cluster started in a new temporary folder; stopped and removed on leaving."""
    # Not pytest's tmp_path: a unix socket path must stay under 108 bytes, and the
    # unprivileged server must be able to reach its folder (pytest's root is 0700).
    folder = Path(tempfile.mkdtemp(prefix="snapd-postgres-"))
    cluster = PostgresCluster(binaries, folder)
    try:
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_dsn(postgres_cluster: PostgresCluster) -> str:
    """The DSN of a fresh, empty database of the session's cluster."""
    return postgres_cluster.new_database()
