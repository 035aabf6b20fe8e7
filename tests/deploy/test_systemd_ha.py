"""The drop-in for two hosts on a PostgreSQL ledger: verified, and the password credential."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapd.config.credentials import CREDENTIAL_NAME
from tests.deploy.support import DEPLOY
from tests.deploy.unit_file import directives, verify

DROP_IN = DEPLOY / "systemd" / "ha.conf"
SETTINGS = directives(DROP_IN)
# Where snapd looks for the database password among the service's credentials.
LEDGER_CREDENTIAL_NAME = "ledger-password"


@pytest.mark.tools
def test_the_unit_with_the_drop_in_verifies(tmp_path: Path) -> None:
    assert verify(tmp_path, DROP_IN) == []


def test_the_database_password_arrives_as_a_credential_beside_the_token() -> None:
    (credential,) = SETTINGS["Service.LoadCredential"]
    name, _, source = credential.partition(":")
    assert name == LEDGER_CREDENTIAL_NAME != CREDENTIAL_NAME
    assert source == "/etc/hostinger-snapd/ledger-password"
    assert "Service.Environment" not in SETTINGS  # no PGPASSWORD in the environment


def test_the_service_starts_once_the_network_is_up() -> None:
    assert "network-online.target" in SETTINGS["Unit.After"]
    assert "network-online.target" in SETTINGS["Unit.Wants"]


def test_the_drop_in_changes_nothing_else() -> None:
    assert set(SETTINGS) == {"Unit.Wants", "Unit.After", "Service.LoadCredential"}
