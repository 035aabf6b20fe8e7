"""One lane per target: a bounded queue and the thread that sends what is in it.

A receiver that hangs, trickles or is being retried holds only its own lane; every other
target's notifications go on. Within a lane, deliveries keep their order (a VM's ``/start`` ping
arrives before its success ping).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Lane(Generic[Item]):
    """A queue of at most ``maximum`` items and a daemonic thread that hands each to
    ``send``, in order, until ``close``."""

    def __init__(self, name: str, maximum: int, send: Callable[[Item], None]) -> None:
        self._send = send
        self._maximum = maximum
        self._pending: deque[Item] = deque()
        self._condition = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def offer(self, item: Item) -> bool:
        """Queue ``item`` without waiting; False when the lane is full or closing."""
        with self._condition:
            if self._closing or len(self._pending) >= self._maximum:
                return False
            self._pending.append(item)
            self._condition.notify()
        return True

    def close(self) -> None:
        """Take no more items; the thread ends once it has sent those already queued."""
        with self._condition:
            self._closing = True
            self._condition.notify()

    def join(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the thread to end; True when it has."""
        self._thread.join(max(0.0, seconds))
        return not self._thread.is_alive()

    def take_pending(self) -> list[Item]:
        """Remove and return what is still queued (the sender's item in hand stays)."""
        with self._condition:
            taken = list(self._pending)
            self._pending.clear()
        return taken

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._closing:
                    self._condition.wait()
                if not self._pending:
                    return
                item = self._pending.popleft()
            self._send(item)
