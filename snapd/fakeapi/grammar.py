"""The ``fake-api`` command's grammar: its options and the ``HOST:PORT`` check.

Kept apart from the server so that the ``snapd`` command line can offer the subcommand
without loading the fake: only running it (``command.run``) does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from snapd.fakeapi.faults import NO_SNAPSHOT_ANSWERS
from snapd.fakeapi.registry import ENDPOINTS

_Number = TypeVar("_Number", int, float)


def _bounded(
    convert: Callable[[str], _Number], minimum: _Number, unreadable: str, too_small: str
) -> Callable[[str], _Number]:
    """An argument type: ``convert`` the text, refuse it below ``minimum``."""

    def check(text: str) -> _Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {unreadable}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {too_small}, got {value}")
        return value

    return check


_positive_integer = _bounded(int, 1, "a whole number", "at least 1")
_non_negative_integer = _bounded(int, 0, "a whole number", "0 or more")
_non_negative_seconds = _bounded(float, 0.0, "a number of seconds", "0 or more seconds")


def _fixed_window(text: str) -> tuple[int, float]:
    """``N/W``: N requests (at least 1) per W seconds (more than 0)."""
    count_text, separator, seconds_text = text.partition("/")
    try:
        count, seconds = int(count_text), float(seconds_text)
    except ValueError:
        count, seconds = 0, 0.0
    if not separator or count < 1 or not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected N/W, N requests (at least 1) per W seconds (more than 0), got {text!r}"
        )
    return count, seconds


def _account(text: str) -> tuple[str, Path]:
    """``NAME=TOKEN_FILE`` as ``(NAME, Path(TOKEN_FILE))``."""
    name, separator, token_file = text.partition("=")
    if not separator or not name.strip() or not token_file.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=TOKEN_FILE, got {text!r}")
    return name.strip(), Path(token_file.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the fake's options to ``parser``."""
    _add_serving(parser)
    _add_fleet(parser)
    _add_faults(parser)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        # No default of its own: under ``snapd``, ``snapd -v fake-api`` must stand.
        default=argparse.SUPPRESS,
        help="log every request to standard error",
    )


def _add_serving(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="address to serve on; port 0 picks a free port, IPv6 as [::1]:8080 "
        "(default: %(default)s)",
    )
    token = parser.add_mutually_exclusive_group(required=True)
    token.add_argument(
        "--token",
        help="the bearer token clients must send; any other gets 401 Unauthenticated",
    )
    token.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help="read the bearer token from this file (surrounding whitespace is ignored)",
    )
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        type=_account,
        metavar="NAME=TOKEN_FILE",
        help="one more account, with its own token (read from TOKEN_FILE), its own --vms "
        "VMs (ids 1000000 further on per account), rate window and faults; repeatable",
    )


def _add_fleet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vms",
        type=_non_negative_integer,
        default=3,
        metavar="N",
        help="number of virtual machines, with consecutive ids (default: %(default)s)",
    )
    parser.add_argument(
        "--first-vm-id",
        type=_positive_integer,
        default=1268054,
        metavar="ID",
        help="id of the first virtual machine (default: %(default)s)",
    )
    parser.add_argument(
        "--action-seconds",
        type=_non_negative_seconds,
        default=5.0,
        metavar="S",
        help="how long a snapshot create, delete or restore takes to reach success "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--requests-per-minute",
        type=_positive_integer,
        default=None,
        metavar="R",
        help="answer 429 with Retry-After beyond R requests in any 60 seconds (default: no limit)",
    )
    parser.add_argument(
        "--fixed-window",
        type=_fixed_window,
        default=None,
        metavar="N/W",
        help="instead, allow N requests per window of W seconds that opens at the first "
        "request and resets when it expires, as Laravel's throttle counts; a 429 carries "
        "Retry-After and X-RateLimit-Reset, every answer X-RateLimit-Limit and "
        "X-RateLimit-Remaining (example: 1000/10; default: no limit)",
    )
    parser.add_argument(
        "--retry-after",
        type=_non_negative_seconds,
        default=None,
        metavar="S",
        help="a rate-limited 429 says Retry-After: S whatever the window says, like a "
        "server that lies (needs --requests-per-minute or --fixed-window)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="seed for ids, seeded backups, probabilistic faults and correlation ids; "
        "the same seed gives the same run (default: %(default)s)",
    )
    parser.add_argument(
        "--no-snapshot-as",
        choices=NO_SNAPSHOT_ANSWERS,
        default="404",
        help="how GET .../snapshot answers for a VM without snapshot: 404 with an error "
        "body, 200 null, 200 {} or 200 with null fields (default: %(default)s)",
    )


def _add_faults(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, ENDPOINT:KIND[:KEY=VALUE]...; repeatable. Endpoints: "
        f"{', '.join(endpoint.name for endpoint in ENDPOINTS)} or *. "
        "Kinds: status, latency, accept_then_fail, accept_then_drop, accept_then_timeout, "
        "malformed_json, huge_body, deep_json, trickle, trickle_body, "
        "action_never_finishes, action_error, action_states, no_snapshot_as. Keys: count "
        "(a number or none), probability, status, seconds, states (comma-separated), "
        "no_snapshot_as, size, header (NAME=VALUE, repeatable). Examples: "
        "create_snapshot:accept_then_fail:count=1, "
        "get_action:action_states:states=created,started,success, "
        "*:status:status=503:probability=0.1, list_vms:status:status=429:header=Retry-After=60",
    )
    parser.add_argument(
        "--clock-skew",
        type=float,
        default=0.0,
        metavar="S",
        help="the server clock runs S seconds ahead of the real one (negative: behind); "
        "timestamps and the Date header follow it (default: %(default)s)",
    )
    parser.add_argument(
        "--action-list-lag",
        type=_non_negative_seconds,
        default=0.0,
        metavar="S",
        help="a new action shows in GET .../actions only S seconds after it was created "
        "(default: %(default)s)",
    )


def parse_listen(text: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[IPv6]:PORT`` for IPv6); ``ValueError`` when malformed."""
    host, separator, port_text = text.rpartition(":")
    if not separator or not host:
        raise ValueError(f"--listen {text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen {text!r}: the port must be a number from 0 to 65535")
    return host, int(port_text)
