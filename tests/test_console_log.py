"""The console log reads well on a 120-column terminal."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import structlog

from snapd.cli.commands.formatting import age
from snapd.logs import CONSOLE_COLUMNS, configure_logging

SLOT = datetime(2026, 11, 29, 11, 48, 18, tzinfo=UTC)
DETAIL = (
    "pre-flight failed: GET /api/vps/v1/virtual-machines/{virtualMachineId}: HTTP 401: "
    "Unauthenticated (correlation_id bf62c22a-e400-4580-b710-61fb119f1744)"
)


def _render_common_events() -> list[str]:
    stream = io.StringIO()
    configure_logging("console", "debug", stream=stream)
    log = structlog.get_logger("snapd.test")
    log.info(
        "started",
        version="0.1.0",
        config="/etc/snapd/config.yaml",
        vms=12,
        base_url="https://developers.hostinger.com",
        token="***",
        requests_per_minute=60,
        metrics="http://127.0.0.1:9891/metrics",
        state_dir="/var/lib/snapd",
        dry_run=False,
    )
    log.info(
        "watching",
        vm=1268054,
        name="web-1",
        schedule="30 2 * * *",
        timezone="Europe/Vilnius",
        min_age="6h",
        next_run=SLOT,
    )
    log.info("run_started", vm=1268054, slot=SLOT, purpose="catch_up")
    log.info("snapshot_requested", vm=1268054, slot=SLOT, action_id=8123456)
    log.warning(
        "snapshot_finished",
        vm=1268054,
        slot=SLOT,
        result="failed",
        reason="authentication_failed",
        detail=DETAIL,
        correlation_id="bf62c22a-e400-4580-b710-61fb119f1744",
        seconds=0.312,
        dry_run=False,
    )
    log.info("hold_set", vm=1268054, duration=timedelta(days=1), until=SLOT)
    log.debug(
        "hostinger_request",
        vm=1268054,
        method="GET",
        endpoint="/api/vps/v1/virtual-machines/{virtualMachineId}/actions/{actionId}",
        status=200,
        seconds=0.041,
        attempts=1,
    )
    return stream.getvalue().splitlines()


def test_the_console_log_of_the_common_events_fits_120_columns() -> None:
    lines = _render_common_events()
    assert len(lines) >= 7
    assert max(len(line) for line in lines) <= CONSOLE_COLUMNS
    assert all(line.startswith(("2026-", "    ")) for line in lines)
    text = "\n".join(lines)
    assert "warning snapshot_finished vm=1268054 slot=2026-11-29T11:48:18Z result=failed" in text
    assert "dry_run=false" in text and "False" not in text
    assert "duration=1d" in text and "day," not in text
    assert "until=2026-11-29T11:48:18Z" in text and "+00:00" not in text


def test_tables_write_ages_the_way_durations_are_written() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert age(now - timedelta(hours=6, minutes=30, seconds=10), now) == "6h30m ago"
    assert age(now - timedelta(days=1), now) == "1d ago"
    assert age(now + timedelta(days=1, hours=2, minutes=5), now) == "in 1d2h"
