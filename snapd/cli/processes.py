"""The two commands that run for a while: ``once`` and ``run``.

Both own their signals (Ctrl-C stops ``once`` within seconds, SIGHUP never kills ``run``)
and both leave at once when a job is still stuck inside a request past its bound: the
job's pending row is in the ledger and the next run resumes it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from snapd.cli.commands import ExitCode, UsageError
from snapd.clock import Clock
from snapd.config import Config

if TYPE_CHECKING:
    from snapd.cli.progress import ProgressLine


def once(arguments: argparse.Namespace, config: Config, virtual_machine_ids: list[int]) -> int:
    """``snapd once``: the pipeline for the chosen VMs now; 130 after Ctrl-C."""
    from snapd.cli.commands.once import run_once
    from snapd.clock_wrappers import InterruptibleClock
    from snapd.notify.notifier import drain_seconds
    from snapd.runtime import (
        COMMAND_LINE_CONNECTION_RETRY_SECONDS,
        build_one_shot_notifier,
        open_runtime,
    )

    notifier = build_one_shot_notifier(config)
    # Ctrl-C sets the event that the pipelines and their clock watch, as in the daemon.
    stop = threading.Event()
    clock = InterruptibleClock(stop)
    progress = _progress_line(arguments, config, clock)
    runtime = open_runtime(
        config,
        observer=notifier,
        api_observer=progress,
        clock=clock,
        should_stop=stop.is_set,
        connection_retry_seconds=COMMAND_LINE_CONNECTION_RETRY_SECONDS,
    )
    code: int = ExitCode.FAILURE
    try:
        with _ctrl_c_sets(stop, runtime.budget.close):
            policies = runtime.policies(virtual_machine_ids, arguments.all)
            code = run_once(
                runtime,
                policies,
                dry_run=arguments.dry_run,
                force=arguments.force,
                notifier=notifier,
                stop=stop,
                workers=arguments.workers,
                progress=progress,
            )
    finally:
        progress.close()
        if code != ExitCode.INTERRUPTED:
            runtime.close()
            if notifier is not None:
                notifier.close(drain_seconds(config))
    if code == ExitCode.INTERRUPTED:
        _leave_now(code)
    return code


def _progress_line(arguments: argparse.Namespace, config: Config, clock: Clock) -> ProgressLine:
    """``once``'s progress line on standard error: drawn only on a terminal whose log lines
    are not JSON; the log lines then write around it."""
    from snapd.cli.progress import ProgressLine, shows_progress
    from snapd.logs import configure_logging

    shown = shows_progress(sys.stderr, config.log.format)
    progress = ProgressLine(sys.stderr, clock, shown=shown)
    if shown:
        level = "debug" if arguments.verbose else config.log.level
        configure_logging(config.log.format, level, stream=progress.stream())
    return progress


def daemon(arguments: argparse.Namespace, load: Callable[[argparse.Namespace], Config]) -> int:
    """``snapd run``: the daemon until SIGTERM or SIGINT."""
    from snapd.cli.overrides import overrides
    from snapd.daemon.parts import DaemonSettings
    from snapd.daemon.signals import signal_handlers
    from snapd.metrics import MetricsServerError
    from snapd.runtime.daemon import build_daemon

    # Handlers first: a SIGHUP while the policy is read (systemd's reload, a log rotation)
    # must not kill the process; it is acted on once the daemon runs.
    commands: queue.Queue[str] = queue.Queue()
    with signal_handlers(commands):
        config = load(arguments)
        settings = DaemonSettings(
            dry_run=arguments.dry_run,
            inventory_every=arguments.inventory_interval,
            workers=arguments.workers,
            overrides=overrides(arguments),
        )
        built = build_daemon(arguments.config, config, settings, signals=commands)
        try:
            code = built.run()
        except MetricsServerError as error:
            raise UsageError(str(error)) from None
    if built.unfinished:
        _leave_now(code)
    return code


def _leave_now(code: int) -> None:
    """Exit without waiting for threads still inside a request (their pending rows are in
    the ledger; the next run resumes them)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@contextlib.contextmanager
def _ctrl_c_sets(stop: threading.Event, also: Callable[[], None]) -> Iterator[None]:
    """While the block runs, SIGINT sets ``stop`` and calls ``also`` instead of raising."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (an in-process test's worker)
        return

    def interrupt(_number: int, _frame: object) -> None:
        stop.set()
        also()

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
