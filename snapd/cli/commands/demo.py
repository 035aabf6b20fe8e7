"""``snapd demo``: the real daemon against the embedded fake API, for a first look.

No token, no policy file and no network: the fake Hostinger API runs in this process with
a few VMs and short actions, the policy (every minute) and the ledger live in a temporary
folder, and the metrics endpoint is served on loopback. The first snapshots come within
seconds (catch-up of the current minute's slot), then one per VM and minute, with the
storm guard visibly skipping a snapshot that is too young.
"""

from __future__ import annotations

import argparse
import errno
import secrets
import shutil
import socket
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from snapd.cli.argument_types import duration, positive_int
from snapd.cli.options import verbose_option
from snapd.config import load_config
from snapd.logs import configure_logging

if TYPE_CHECKING:
    from snapd.fakeapi import FakeHostinger

DEMO_ACTION_SECONDS = 3.0
DEMO_METRICS_PORT = 9891
# The poller's delays (seconds): short, for actions that take DEMO_ACTION_SECONDS.
DEMO_POLL_DELAYS = MappingProxyType(
    {"first_delay": 1.0, "minimum_delay": 0.5, "maximum_delay": 5.0, "factor": 1.5}
)


def _free_port(host: str, preferred: int) -> int:
    """``preferred`` when it can be bound, else 0 (any free port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the metrics server does: a port in TIME_WAIT from a previous run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, preferred))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return 0
            raise
    return preferred


def demo_policy(base_url: str, vm_ids: list[int], state_dir: Path, metrics_port: int) -> str:
    """The demo's policy file: every minute, generous request budget, readable logs."""
    names = ["web-1", "db-1", "mail-1", "cache-1", "queue-1", "search-1"]
    vms = "\n".join(
        f"  - id: {vm}\n    name: {names[index] if index < len(names) else f'vm-{index + 1}'}"
        for index, vm in enumerate(vm_ids)
    )
    return (
        f"api:\n  base_url: {base_url}\n  timeout: 10s\n  requests_per_minute: 600\n"
        'defaults:\n  schedule: "* * * * *"\n  protect_manual: 0s\n'
        f"vms:\n{vms}\n"
        f"metrics:\n  listen: 127.0.0.1:{metrics_port}\n"
        f"state_dir: {state_dir}\n"
        "log:\n  format: auto\n  level: info\n"
    )


def run_demo(vm_count: int = 3, run_for: float | None = None, *, keep: bool = False) -> int:
    """Run the demo until Ctrl-C (or ``run_for`` seconds), print a summary; return the exit code.

    With ``keep`` the policy and the ledger stay in their folder afterwards (for
    ``snapd history``); otherwise the folder is removed.
    """
    # Loaded here: the command line parses without the fake API or the daemon.
    from snapd.fakeapi import FakeHostinger
    from snapd.pipeline.wait import PollSettings
    from snapd.runtime.daemon import build_daemon

    token = secrets.token_urlsafe(24)
    fake = FakeHostinger(token=token, vm_count=vm_count, action_seconds=DEMO_ACTION_SECONDS)
    fake.start("127.0.0.1", 0)
    folder = Path(tempfile.mkdtemp(prefix="snapd-demo-"))
    metrics: list[str] = []
    policy_path = folder / "config.yaml"
    try:
        state_dir = folder / "state"
        state_dir.mkdir()
        port = _free_port("127.0.0.1", DEMO_METRICS_PORT)
        policy_path.write_text(demo_policy(fake.base_url, fake.vm_ids, state_dir, port))
        config = load_config(policy_path)
        configure_logging(config.log.format, config.log.level)
        daemon = build_daemon(
            policy_path, config, token=token, poll=PollSettings(**DEMO_POLL_DELAYS)
        )
        print(
            f"snapd demo: fake Hostinger API at {fake.base_url} with VMs "
            f"{', '.join(str(vm) for vm in fake.vm_ids)}; snapshots every minute",
            flush=True,
        )

        def announce(url: str) -> None:
            metrics.append(f"{url}/metrics")
            print(f"snapd demo: metrics at {url}/metrics   (Ctrl-C to stop)", flush=True)

        return daemon.run(run_for, announce=announce)
    finally:
        fake.stop()
        _summary(fake, metrics, policy_path if keep else None)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _summary(fake: FakeHostinger, metrics: list[str], kept_policy: Path | None) -> None:
    """What the demo did, printed at its end."""
    vms = ", ".join(str(vm) for vm in fake.vm_ids)
    print(f"snapd demo: done. VMs {vms}; snapshots made: {fake.count('POST', '/snapshot')}")
    if metrics:
        print(f"snapd demo: the metrics were at {metrics[0]}")
    if kept_policy is None:
        print("snapd demo: state removed (run with --keep to look at it afterwards)")
    else:
        print(
            f"snapd demo: state kept in {kept_policy.parent}; try: snapd history -c {kept_policy}",
            flush=True,
        )


def run(arguments: argparse.Namespace) -> int:
    """``snapd demo``, as parsed."""
    run_for = arguments.run_for.total_seconds() if arguments.run_for else None
    return run_demo(arguments.vms, run_for, keep=arguments.keep)


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd demo`` (``config_option`` unused: the demo writes its own policy)."""
    del config_option
    demo = commands.add_parser(
        "demo",
        parents=[verbose_option()],
        help="run the daemon against the embedded fake API (no token, no network)",
        description="Start the fake Hostinger API in this process with a few VMs, a policy "
        "that snapshots every minute, a ledger in a temporary folder and the metrics "
        "endpoint, then run the daemon. Ctrl-C ends it.",
    )
    demo.add_argument(
        "--vms", type=positive_int, default=3, metavar="N", help="number of fake VMs (default 3)"
    )
    demo.add_argument(
        "--run-for",
        type=duration,
        metavar="DURATION",
        help="stop by itself after this long, e.g. 2m (default: until Ctrl-C)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the demo's policy and ledger afterwards (for snapd history); "
        "the summary at exit says where",
    )
    demo.set_defaults(command="demo")
