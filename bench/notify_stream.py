"""Benchmark: ``snapd notify test`` against a webhook that streams an endless answer.

A local receiver answers 200 and then streams ``x`` as fast as the client reads, for
``--stream-seconds``; the policy's webhook has ``timeout: --timeout``. ``snapd notify test``
runs in a child process; the figures are its wall time, its peak RSS (``ru_maxrss``), its
exit code and the bytes the receiver got into the socket. A bounded client ends within the
timeout with a peak RSS of a plain ``snapd`` start, whatever the receiver does.

``--source DIR`` runs the snapd package found in DIR instead of this checkout's, to compare
two versions (e.g. a ``git worktree`` of an older commit). Not part of the test suite. Quick check:
``python bench/notify_stream.py --stream-seconds 5 --timeout 10s``.
"""

from __future__ import annotations

import argparse
import os
import site
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/notify_stream.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SNAPD, environment, report

CHUNK = b"x" * 65536


class _Endless(BaseHTTPRequestHandler):
    stream_seconds = 25.0
    written = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ends = time.monotonic() + self.stream_seconds
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            while time.monotonic() < ends:
                self.wfile.write(CHUNK)
                type(self).written += len(CHUNK)
        except OSError:
            pass  # the client hung up
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        return None


def _child(source: Path | None) -> tuple[list[str], dict[str, str]]:
    """How to start snapd: this checkout's, or (``-S``: not the installed editable one) the
    package in ``source`` with this environment's dependencies."""
    if source is None:
        return SNAPD, environment()
    path = os.pathsep.join([str(source), *site.getsitepackages()])
    return [sys.executable, "-S", "-m", "snapd.cli"], environment(PYTHONPATH=path)


def measure(source: Path | None, stream_seconds: float, timeout: str) -> dict[str, float]:
    """Run ``snapd notify test`` once against a fresh endless receiver; its figures."""
    handler = type("Endless", (_Endless,), {"stream_seconds": stream_seconds, "written": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            policy = Path(folder) / "config.yaml"
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            policy.write_text(
                "api: {base_url: 'http://127.0.0.1:1'}\n"
                "defaults: {schedule: '0 3 * * *'}\n"
                f"vms: [{{id: 1, notify: {{webhooks: [{{url: '{url}', timeout: {timeout}}}]}}}}]\n"
            )
            began = time.monotonic()
            command, variables = _child(source)
            child = subprocess.Popen(
                [*command, "notify", "test", "-c", str(policy)],
                env=variables,
                cwd=folder,  # ``-m`` puts the working folder first on the path
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(child.pid, 0)
            elapsed = time.monotonic() - began
            child.returncode = os.waitstatus_to_exitcode(status)
    finally:
        server.shutdown()
        server.server_close()
    return {
        "wall_seconds": round(elapsed, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": child.returncode,
        "received_mb": round(handler.written / 1024 / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream-seconds", type=float, default=25.0)
    parser.add_argument("--timeout", default="10s", help="the webhook's timeout (default 10s)")
    parser.add_argument(
        "--source", type=Path, help="a folder holding another version's snapd package"
    )
    arguments = parser.parse_args(argv)
    figures = measure(arguments.source, arguments.stream_seconds, arguments.timeout)
    rows = [
        ("wall time", f"{figures['wall_seconds']} s", f"< timeout ({arguments.timeout}) + 1 s"),
        ("peak RSS", f"{figures['peak_rss_mb']} MB", "that of a plain start"),
        ("exit code", str(figures["exit_code"]), "1 (the target failed)"),
        ("bytes taken from the receiver", f"{figures['received_mb']} MB", "a few MB"),
    ]
    report(
        f"snapd notify test against an endless answer ({arguments.stream_seconds:g} s)",
        rows,
        figures,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
