"""``--state-dir`` and ``--metrics-listen``: which commands take them, and their values.

They win over the policy's ``state_dir`` and ``metrics.listen`` so that two replicas can
run from one policy file on one host. A command takes an option when the value matters
to it: ``state_dir`` to every command that reads or writes the ledger or the daemon's
address file, ``metrics.listen`` to ``run`` only (and to ``config validate`` and
``config show``, which show or check what ``run`` would use).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from snapd.config import Overrides
from snapd.config.validate import FORMATS

#: The commands that take ``--state-dir``, as typed after ``snapd``.
STATE_DIR_COMMANDS = (
    "run",
    "once",
    "status",
    "history",
    "hold",
    "release",
    "restore",
    "delete",
    "config validate",
    "config show",
)
#: The commands that take ``--metrics-listen``.
METRICS_LISTEN_COMMANDS = ("run", "config validate", "config show")


def listen_address(text: str) -> str:
    """``--metrics-listen``: ``HOST:PORT`` as ``metrics.listen`` accepts it."""
    problem = FORMATS["listen-address"](text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def add_override_options(parser: argparse.ArgumentParser) -> None:
    """Give each command of ``STATE_DIR_COMMANDS`` and ``METRICS_LISTEN_COMMANDS`` under
    the top-level ``parser`` its options."""
    for name in STATE_DIR_COMMANDS:
        _command(parser, name).add_argument(
            "--state-dir",
            type=Path,
            metavar="DIR",
            help="use DIR instead of the policy's state_dir (a relative DIR is read from "
            "the current folder), e.g. for a second replica on this host",
        )
    for name in METRICS_LISTEN_COMMANDS:
        _command(parser, name).add_argument(
            "--metrics-listen",
            type=listen_address,
            metavar="HOST:PORT",
            help="serve /metrics, /healthz, /readyz and /status here instead of the "
            "policy's metrics.listen",
        )


def overrides(arguments: argparse.Namespace) -> Overrides:
    """The overriding values given to the parsed command (None where none was given)."""
    return Overrides(
        state_dir=getattr(arguments, "state_dir", None),
        metrics_listen=getattr(arguments, "metrics_listen", None),
    )


def _command(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of the command ``name`` (``"config show"``) under ``parser``."""
    for word in name.split():
        parser = next(
            action.choices[word]
            for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
        )
    return parser
