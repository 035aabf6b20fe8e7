"""Under journald, every log line carries its syslog priority, so ``journalctl -p`` works."""

from __future__ import annotations

import json
import os
from pathlib import Path

import structlog

from snapd.logs import configure_logging


def journal_stream_of(path: Path) -> str:
    """What systemd puts in ``$JOURNAL_STREAM`` for a service writing to ``path``."""
    status = os.stat(path)
    return f"{status.st_dev}:{status.st_ino}"


def log_each_level(path: Path, environ: dict[str, str]) -> list[str]:
    with path.open("w", encoding="utf-8") as stream:
        configure_logging("json", "debug", stream=stream, environ=environ)
        log = structlog.get_logger("snapd.test")
        log.debug("inventory_pass")
        log.info("snapshot_verified", vm=1268054)
        log.warning("token_file_readable_by_others")
        log.error("job_wedged", vm=1268054)
    return path.read_text(encoding="utf-8").splitlines()


def test_lines_written_to_the_journal_start_with_their_syslog_priority(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    path.touch()
    lines = log_each_level(path, {"JOURNAL_STREAM": journal_stream_of(path)})
    assert [line[:3] for line in lines] == ["<7>", "<6>", "<4>", "<3>"]
    # After the prefix, which journald strips, the line is the same JSON as elsewhere.
    assert json.loads(lines[-1][3:])["event"] == "job_wedged"


def test_lines_to_a_stream_that_is_not_the_journal_carry_no_prefix(tmp_path: Path) -> None:
    path = tmp_path / "redirected"
    other = tmp_path / "journal"
    other.touch()
    lines = log_each_level(path, {"JOURNAL_STREAM": journal_stream_of(other)})
    assert all(line.startswith("{") for line in lines)
    assert all(line.startswith("{") for line in log_each_level(path, {}))
