"""The systemd unit: what systemd itself says of it, and the settings snapd relies on."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from snapd.config.credentials import CREDENTIAL_NAME
from tests.conftest import PROJECT_ROOT
from tests.deploy.support import DEPLOY, STOP_TIMEOUT_SECONDS, seconds
from tests.deploy.unit_file import UNIT, directives, verify
from tests.support.tools import tool

BEFORE_253 = DEPLOY / "systemd" / "notify-before-253.conf"
SETTINGS = directives(UNIT)
EXPOSURE_LIMIT = 2.0


def setting(key: str) -> str:
    """The effective (last) value of ``Section.Key``."""
    return SETTINGS[key][-1]


@pytest.mark.tools
def test_systemd_analyze_verify_finds_nothing_wrong_with_the_unit(tmp_path: Path) -> None:
    assert verify(tmp_path) == []


@pytest.mark.tools
def test_the_drop_in_for_systemd_before_253_verifies_too(tmp_path: Path) -> None:
    assert verify(tmp_path, BEFORE_253) == []
    assert directives(BEFORE_253) == {
        "Service.Type": ["notify"],
        "Service.ExecReload": ["kill -HUP $MAINPID"],
    }


@pytest.mark.tools
def test_the_unit_rates_two_or_lower_in_systemd_security() -> None:
    analyze = tool("systemd-analyze", "systemd")
    threshold = f"--threshold={EXPOSURE_LIMIT * 10:.0f}"  # in tenths: 20 is an exposure of 2.0
    result = subprocess.run(
        [analyze, "security", "--offline=true", threshold, "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found is not None, result.stdout + result.stderr
    assert float(found.group(1)) <= EXPOSURE_LIMIT, result.stdout
    assert result.returncode == 0, result.stderr


def test_systemd_waits_longer_for_a_stop_than_snapd_takes() -> None:
    assert seconds(setting("Service.TimeoutStopSec")) > STOP_TIMEOUT_SECONDS


def test_the_service_reports_readiness_reloads_and_a_watchdog_itself() -> None:
    assert setting("Service.Type") == "notify-reload"
    assert seconds(setting("Service.WatchdogSec")) > 0
    assert setting("Service.Restart") == "on-failure"


def test_the_token_arrives_as_the_credential_snapd_looks_for() -> None:
    name, _, source = setting("Service.LoadCredential").partition(":")
    assert name == CREDENTIAL_NAME
    assert source == "/etc/hostinger-snapd/hostinger-api-token"
    assert "HOSTINGER_API_TOKEN" not in " ".join(SETTINGS.get("Service.Environment", []))


def test_the_service_runs_as_a_dynamic_user_whose_only_writable_place_is_its_state() -> None:
    assert setting("Service.DynamicUser") == "yes"
    assert setting("Service.ProtectSystem") == "strict"
    assert setting("Service.StateDirectory") == "hostinger-snapd"
    assert setting("Service.StateDirectoryMode") == "0700"
    assert setting("Service.ConfigurationDirectory") == "hostinger-snapd"
    assert setting("Service.UMask") == "0077"
    assert "Service.ReadWritePaths" not in SETTINGS
    assert setting("Service.ExecStart").endswith("run -c /etc/hostinger-snapd/config.yaml")


def test_the_sandbox_still_lets_snapd_reach_the_api_and_serve_metrics() -> None:
    assert setting("Service.RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6"
    assert "Service.IPAddressDeny" not in SETTINGS  # the API is on the internet
    assert "Service.PrivateNetwork" not in SETTINGS


# Every directive that takes a system-wide name: a folder under /var/lib, /etc, /run,
# /var/cache or /var/log, or the journal's identifier.
NAMING_DIRECTIVES = (
    "Service.StateDirectory",
    "Service.ConfigurationDirectory",
    "Service.RuntimeDirectory",
    "Service.CacheDirectory",
    "Service.LogsDirectory",
    "Service.SyslogIdentifier",
)


def test_no_name_the_unit_takes_is_snapd_the_name_of_ubuntus_snap_daemon() -> None:
    taken = {key: SETTINGS[key] for key in NAMING_DIRECTIVES if key in SETTINGS}
    assert taken["Service.StateDirectory"] == ["hostinger-snapd"]
    assert taken["Service.SyslogIdentifier"] == ["hostinger-snapd"]
    for key, values in taken.items():
        for name in " ".join(values).split():
            assert name.split("/")[0] != "snapd", f"{key}={name}"
    # Only the command is called snapd; every path the unit names is hostinger-snapd's.
    paths = re.findall(r"/[\w./-]+", " ".join(" ".join(values) for values in SETTINGS.values()))
    assert paths, "the unit names no path"
    for path in paths:
        assert "/snapd/" not in f"{path}/" or path.endswith("/bin/snapd"), path


def test_a_policy_error_does_not_restart_the_service_forever() -> None:
    assert setting("Service.RestartPreventExitStatus") == "2"


def test_the_unit_documents_the_projects_readme_and_the_systemd_it_needs() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["urls"]["Documentation"] in SETTINGS["Unit.Documentation"]
    assert "systemd 247 or later" in UNIT.read_text(encoding="utf-8")
