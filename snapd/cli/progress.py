"""``once``'s progress line on a terminal: VMs done of all, 429 answers, expected finish.

``once: 3/10 done, 429s: 1, expected finish 2026-12-04T19:02:10Z`` is rewritten in place on
standard error, and only there when it is a terminal and the log lines are not JSON (a
pipe, a file, a journal or a log collector never sees it). Log lines written meanwhile go
through :class:`ProgressLine.stream`, which clears the line first and draws it again after,
so that a console log line is never glued to it.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, TextIO

from snapd.cli.commands.formatting import iso_utc
from snapd.clock import Clock

#: The escape that clears a terminal line from the cursor to its end (ECMA-48 EL).
_CLEAR = "\r\033[K"


def shows_progress(stream: TextIO, log_format: str) -> bool:
    """True when ``stream`` is a terminal and the log lines written to it are not JSON."""
    return stream.isatty() and log_format != "json"


class ProgressLine:
    """The progress of a pass, drawn on ``stream`` when ``shown``; silent otherwise.

    Also an API observer (``snapd.hostinger.ApiObserver``): it counts the 429 answers.
    ``clock`` tells the elapsed time the expected finish is extrapolated from.
    """

    def __init__(self, stream: TextIO, clock: Clock, *, shown: bool) -> None:
        self.total = 0
        self.shown = shown
        self.rate_limited = 0
        self._stream = stream
        self._clock = clock
        self._started = clock.monotonic()
        self._done = 0
        self._text = ""
        self._drawn = False  # the line is on the terminal now
        self._lock = threading.RLock()

    def request_finished(self, method: str, endpoint: str, code: str, seconds: float) -> None:
        if code == "429":
            with self._lock:
                self.rate_limited += 1
            self.update(self._done)

    def request_retried(self, endpoint: str, reason: str) -> None:
        return None

    def budget_changed(self, requests_per_minute: float) -> None:
        return None

    def start(self, total: int) -> None:
        """The pass of ``total`` VMs begins now (the expected finish counts from here)."""
        with self._lock:
            self.total = total
            self._started = self._clock.monotonic()
        self.update(0)

    def update(self, done: int) -> None:
        """``done`` VMs have finished: draw the line again when it changed."""
        if not self.shown or self.total == 0:
            return
        with self._lock:
            self._done = done
            text = f"once: {done}/{self.total} done, 429s: {self.rate_limited}, " + (
                f"expected finish {self._finish(done)}"
            )
            if text != self._text:
                self._text = text
                self._stream.write(f"{_CLEAR}{text}")
                self._stream.flush()
                self._drawn = True

    def _finish(self, done: int) -> str:
        """When the rest ends at the pace so far; ``-`` before the first VM finished."""
        if done == 0:
            return "-"
        elapsed = self._clock.monotonic() - self._started
        remaining = elapsed / done * (self.total - done)
        return iso_utc(self._clock.now() + timedelta(seconds=round(remaining)))

    def close(self) -> None:
        """Clear the line (the summary table follows on standard output)."""
        with self._lock:
            if self._drawn:
                self._stream.write(_CLEAR)
                self._stream.flush()
            self._drawn = False
            self.shown = False

    def stream(self) -> TextIO:
        """A stream for the log lines: each write clears the line, then draws it again."""
        # Duck-typed: print() and structlog call only write, flush, isatty and fileno.
        return _AroundTheLine(self, self._stream)  # type: ignore[return-value]

    def write_around(self, text: str) -> int:
        """Write ``text`` (a log line, or part of one) with the progress line out of its way:
        cleared before it, drawn again once the log line ended."""
        with self._lock:
            prefix = _CLEAR if self._drawn else ""
            self._drawn = False
            self._stream.write(prefix + text)
            if text.endswith("\n") and self.shown and self._text:
                self._stream.write(self._text)
                self._drawn = True
            self._stream.flush()
            return len(text)


class _AroundTheLine:
    """``stream`` for the log lines, writing around the progress line; the rest of the
    stream's interface (``isatty``, ``fileno``, ``flush``) is the stream's own."""

    def __init__(self, progress: ProgressLine, stream: TextIO) -> None:
        self._progress = progress
        self._stream = stream

    def write(self, text: str) -> int:
        return self._progress.write_around(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
