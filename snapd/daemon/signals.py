"""Signals of the daemon: SIGTERM and SIGINT stop it, SIGHUP reloads its policy.

Handlers only queue a word; the main loop acts on it, outside the signal context.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def signal_handlers(commands: queue.Queue[str]) -> Iterator[None]:
    """SIGTERM/SIGINT queue a stop, SIGHUP a reload; the main loop acts on them."""

    def stop(signal_number: int, frame: FrameType | None) -> None:
        commands.put("stop")

    def reload(signal_number: int, frame: FrameType | None) -> None:
        commands.put("reload")

    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled in the main thread (tests run daemons elsewhere)
        return
    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, stop),
        signal.SIGINT: signal.signal(signal.SIGINT, stop),
        signal.SIGHUP: signal.signal(signal.SIGHUP, reload),
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
