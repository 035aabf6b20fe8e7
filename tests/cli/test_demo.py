"""`snapd demo`: the README's first command must show verified snapshots within 30 seconds."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def successes_in(exposition: str) -> float:
    return sum(
        float(line.split()[-1])
        for line in exposition.splitlines()
        if line.startswith("snapd_snapshot_attempts_total{") and 'result="success"' in line
    )


def test_the_demo_shows_three_verified_snapshots_within_30_seconds_and_stops_on_ctrl_c() -> None:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "snapd.cli", "demo", "--run-for", "60s", "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    assert "fake Hostinger API at http://127.0.0.1:" in process.stdout.readline()
    url = process.stdout.readline().split("metrics at ", 1)[1].split()[0]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
    exposition = ""
    while time.monotonic() - started < 30 and successes_in(exposition) < 3:
        time.sleep(0.5)
        with urllib.request.urlopen(url, timeout=5) as answer:
            exposition = answer.read().decode()
    assert successes_in(exposition) >= 3, exposition
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    summary, log = process.communicate(timeout=15)
    assert process.returncode == 0, log
    assert log.count('"result": "success"') >= 3
    assert '"event": "stopped"' in log
    assert f"snapd demo: the metrics were at {url}" in summary
    made = int(summary.split("snapshots made: ", 1)[1].split()[0])
    assert made >= 3
    history_command = summary.split("try: ", 1)[1].split()
    assert history_command[:2] == ["snapd", "history"]
    kept = Path(history_command[-1])
    try:
        history = subprocess.run(
            [sys.executable, "-m", "snapd.cli", *history_command[1:]],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert history.returncode == 0, history.stderr
        assert history.stdout.count("success") >= 3
    finally:
        shutil.rmtree(kept.parent, ignore_errors=True)
