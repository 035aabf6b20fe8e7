"""``once``'s progress line: on a terminal whose logs are not JSON, never in a pipe."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from snapd.cli import main
from snapd.cli.progress import ProgressLine
from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault
from tests.conftest import TOKEN, FakeSettings

CLEAR = "\r\033[K"


class Terminal(io.StringIO):
    """Standard error as a terminal would be: ``isatty()`` is True."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def fake_settings() -> FakeSettings:
    """Three VMs on the real clock whose snapshots take a fraction of a second."""
    return FakeSettings(token=TOKEN, vm_count=3, action_seconds=0.3, manual_clock=False)


def write(tmp_path: Path, fake: FakeHostinger, log_format: str) -> Path:
    vms = "\n".join(f"  - {{id: {vm}, name: vm-{index}}}" for index, vm in enumerate(fake.vm_ids))
    path = tmp_path / f"{log_format}.yaml"
    path.write_text(
        f"api: {{base_url: '{fake.base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
        "defaults: {schedule: '@daily'}\n"
        f"vms:\n{vms}\n"
        f"state_dir: {tmp_path}\n"
        f"log: {{format: {log_format}}}\n"
    )
    return path


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)


def test_a_terminal_shows_done_of_all_the_429s_and_the_expected_finish_then_clears_it(
    fake: FakeHostinger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.inject(Fault(kind="status", endpoint="list_vms", status=429, count=1))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["once", "-c", str(write(tmp_path, fake, "console")), "--all"]) == 0
    shown = terminal.getvalue()
    assert f"{CLEAR}once: 0/3 done, 429s: 0, expected finish -" in shown
    assert f"{CLEAR}once: 0/3 done, 429s: 1, expected finish -" in shown
    assert shown.endswith(CLEAR)  # cleared before the summary
    # What the terminal shows of each line: the text after the last clear. A console log
    # line clears the progress first and is drawn alone, never glued to it.
    visible = [line.split(CLEAR)[-1] for line in shown.split("\n")]
    assert any(" decision " in line for line in visible)
    assert not any("once: " in line and " info " in line for line in visible)
    assert capsys.readouterr().out.count(" success ") == 3


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_pipe_gets_no_progress_line(
    fake: FakeHostinger, tmp_path: Path, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    assert main(["once", "-c", str(write(tmp_path, fake, log_format)), "--all"]) == 0
    error = capsys.readouterr().err
    assert "once: " not in error
    assert "\r" not in error


def test_a_terminal_with_json_logs_gets_no_progress_line(
    fake: FakeHostinger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["once", "-c", str(write(tmp_path, fake, "json")), "--all"]) == 0
    assert "once: " not in terminal.getvalue()
    assert "\r" not in terminal.getvalue()


def test_the_expected_finish_extrapolates_the_pace_so_far(clock: ManualClock) -> None:
    terminal = Terminal()
    progress = ProgressLine(terminal, clock, shown=True)
    progress.start(4)
    clock.sleep(10)
    progress.update(1)  # one VM in 10 s: three more take 30 s
    progress.request_finished("GET", "/api/vps/v1/virtual-machines", "429", 0.1)
    progress.close()
    assert terminal.getvalue() == (
        f"{CLEAR}once: 0/4 done, 429s: 0, expected finish -"
        f"{CLEAR}once: 1/4 done, 429s: 0, expected finish 2025-06-01T03:00:40Z"
        f"{CLEAR}once: 1/4 done, 429s: 1, expected finish 2025-06-01T03:00:40Z"
        f"{CLEAR}"
    )
