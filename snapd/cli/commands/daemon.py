"""``snapd run``: the daemon until SIGTERM or SIGINT (the process side is in
``snapd.cli.processes``)."""

from __future__ import annotations

import argparse


def run(arguments: argparse.Namespace) -> int:
    """``snapd run``, as parsed: every check of ``config validate`` first."""
    from snapd.cli.commands.loading import load_ready
    from snapd.cli.processes import daemon

    return daemon(arguments, load_ready)
