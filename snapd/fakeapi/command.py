"""The ``fake-api`` command: run the fake Hostinger API as a standalone server."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from snapd.fakeapi.accounts import AccountRouter
from snapd.fakeapi.fake import FakeHostinger
from snapd.fakeapi.faults import Fault
from snapd.fakeapi.faultspec import parse_fault
from snapd.fakeapi.grammar import add_arguments, parse_listen

__all__ = ["add_arguments", "parse_listen", "run"]

_PROGRAM = "snapd fake-api"
# How far apart the VM ids of two accounts start.
ACCOUNT_ID_STRIDE = 1_000_000


def _read_token(args: argparse.Namespace) -> str:
    if args.token is not None:
        token = str(args.token).strip()
    else:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(f"cannot read --token-file: {error.strerror}") from None
    if not token:
        raise ValueError("the token is empty")
    return token


def _account_tokens(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The ``--account`` names with their tokens; ``ValueError`` for an unreadable file."""
    accounts = []
    for name, token_file in args.account:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(f"cannot read the token file of account {name}: "
                             f"{error.strerror}") from None  # fmt: skip
        if not token:
            raise ValueError(f"the token of account {name} is empty")
        accounts.append((name, token))
    return accounts


def _fake(args: argparse.Namespace, token: str, index: int) -> FakeHostinger:
    """The fake of the ``index``-th account (0: the ``--token`` one), its ids further on."""
    return FakeHostinger(
        token=token,
        vm_count=args.vms,
        action_seconds=args.action_seconds,
        requests_per_minute=args.requests_per_minute,
        seed=args.seed + index,
        first_vm_id=args.first_vm_id + ACCOUNT_ID_STRIDE * index,
        no_snapshot_as=args.no_snapshot_as,
        verbose=getattr(args, "verbose", False),
        fixed_window=args.fixed_window,
        retry_after=args.retry_after,
    )


def _fail(message: str) -> int:
    print(f"{_PROGRAM}: error: {message}", file=sys.stderr)
    return 2


def _option_names(message: str) -> str:
    """The fake's argument names in a message, as the command line spells them."""
    for name in ("requests_per_minute", "fixed_window", "retry_after"):
        message = message.replace(name, "--" + name.replace("_", "-"))
    return message


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve the fake until SIGINT or SIGTERM (or until ``stop`` is set); return 0.

    Prints the URL and the VM ids on standard output. A bad ``--listen``, ``--fault`` or
    token, or an address that cannot be bound, prints one error line on standard error
    and returns 2.
    """
    try:
        host, port = parse_listen(args.listen)
        faults: list[Fault] = [parse_fault(spec) for spec in args.fault]
        token = _read_token(args)
        fakes = {
            name: _fake(args, token, index)
            for index, (name, token) in enumerate([("", token), *_account_tokens(args)])
        }
    except ValueError as error:
        return _fail(_option_names(str(error)))
    fake = fakes[""]
    for each in fakes.values():
        each.clock_skew = args.clock_skew
        each.action_list_lag = args.action_list_lag
        for fault in faults:
            each.inject(fault)
    if len(fakes) > 1:
        # One port for every account, as the real API tells accounts apart by token.
        fake.answerer = AccountRouter(fakes)
    try:
        fake.start(host, port)
    except OSError as error:
        return _fail(f"cannot listen on {args.listen}: {error.strerror or error}")
    stop = stop if stop is not None else threading.Event()
    previous = _install_signal_handlers(stop)
    try:
        print(f"fake Hostinger API listening on {fake.base_url}", flush=True)
        for name, each in fakes.items():
            owner = f" of account {name}" if name else ""
            print(f"virtual machines{owner}: {', '.join(map(str, each.vm_ids))}", flush=True)
        while not stop.wait(0.2):
            pass  # waking up regularly lets signal handlers run promptly
    finally:
        _restore_signal_handlers(previous)
        fake.stop()
    return 0


_SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _install_signal_handlers(stop: threading.Event) -> dict[int, _SignalHandler]:
    """Set ``stop`` on SIGINT and SIGTERM; only possible in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def request_stop(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, _SignalHandler] = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, request_stop)
    return previous


def _restore_signal_handlers(previous: dict[int, _SignalHandler]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)
