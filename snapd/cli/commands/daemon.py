"""``snapd run``: the daemon until SIGTERM or SIGINT (the process side is in
``snapd.cli.processes``)."""

from __future__ import annotations

import argparse
from typing import Any

from snapd.cli.argument_types import add_workers_argument, duration


def run(arguments: argparse.Namespace) -> int:
    """``snapd run``, as parsed: every check of ``config validate`` first."""
    from snapd.cli.commands.loading import load_ready
    from snapd.cli.processes import daemon

    return daemon(arguments, load_ready)


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd run``."""
    run = commands.add_parser(
        "run",
        parents=[config_option],
        help="run the daemon: snapshots on schedule, metrics on /metrics",
        description="Run the daemon: one job per VM on its schedule, catch-up of a missed "
        "slot found by a paced look at the fleet after start, refresh before expiry, "
        "/metrics, /healthz, /readyz and /status (read by snapd status). SIGHUP "
        "reloads the policy (an invalid one is rejected and the old one stays); SIGTERM "
        "and SIGINT stop within seconds, leaving running actions recorded as pending for "
        "the next start. One daemon per state_dir: a second one exits 2 naming the first.",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and log every slot as usual, but create nothing",
    )
    run.add_argument(
        "--inventory-interval",
        type=duration,
        metavar="DURATION",
        help="re-read every VM's snapshot (and a twelfth of the VMs' backups, in turn) this "
        "often, e.g. 15m (default: derived from the fleet size so that it uses at most a "
        "tenth of requests_per_minute)",
    )
    add_workers_argument(run)
    run.set_defaults(command="daemon")
