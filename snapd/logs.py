"""structlog configuration: one line per event, JSON for machines or console for people.

Log lines go to standard error; standard output is kept for command results. ``auto``
picks the console renderer on a terminal and JSON otherwise (journald, containers). When
standard error is the journal's stream (``$JOURNAL_STREAM``), every line starts with its
syslog priority (``<3>`` for an error), which journald strips and stores as the line's
priority, so that ``journalctl -p err`` shows the errors.
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TextIO

import structlog

from snapd.clock import utc_text

LEVELS = MappingProxyType(
    {
        "debug": logging.DEBUG,
        "info": logging.INFO,
        "warning": logging.WARNING,
        "error": logging.ERROR,
    }
)

#: The syslog priority of each level (sd-daemon(3)): 7 debug, 6 info, 4 warning, 3 error.
PRIORITIES = MappingProxyType(
    {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2, "exception": 3}
)

#: The console log fits a terminal this wide: longer lines wrap, indented.
CONSOLE_COLUMNS = 120
# Shown right after the event name, in this order; the other fields follow as logged.
_KEY_FIELDS = ("vm", "slot", "result", "reason", "action_id", "purpose")
_SKIPPED_ON_CONSOLE = frozenset({"event", "level", "timestamp", "exception"})


def duration_text(duration: timedelta) -> str:
    """``1d``, ``6h30m``, ``0s``, ``1.5s``: a duration the way the policy writes one."""
    seconds = duration.total_seconds()
    if seconds != int(seconds) or seconds < 0:
        return f"{seconds:g}s"
    remaining, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _readable_values(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Times as ISO 8601 UTC (``...Z``), durations as ``6h30m`` and no empty fields: lines
    read like a report."""
    for key, value in list(event.items()):
        if value is None:
            del event[key]
        elif isinstance(value, datetime):
            event[key] = utc_text(value)
        elif isinstance(value, timedelta):
            event[key] = duration_text(value)
    return event


def _console_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return repr(text) if not text or any(c.isspace() for c in text) else text


def render_console(logger: Any, method: str, event: dict[str, Any]) -> str:
    """One event for a terminal: time, level, event, key fields, the rest; at most
    :data:`CONSOLE_COLUMNS` wide, longer lines wrapped and indented."""
    moment = str(event.get("timestamp", ""))[:19]
    head = f"{moment}Z {event.get('level', method)!s:<7} {event.get('event', '')}"
    keys = [key for key in _KEY_FIELDS if key in event]
    keys += [key for key in event if key not in _KEY_FIELDS and key not in _SKIPPED_ON_CONSOLE]
    fields = " ".join(f"{key}={_console_value(event[key])}" for key in keys)
    text = f"{head} {fields}" if fields else head
    lines = textwrap.wrap(text, CONSOLE_COLUMNS, subsequent_indent=" " * 4, break_on_hyphens=False)
    if "exception" in event:  # a traceback keeps its own lines
        lines.append(str(event["exception"]).rstrip())
    return "\n".join(lines)


def writes_to_journal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` is the journal's: ``$JOURNAL_STREAM`` names its device and inode.

    systemd sets the variable for a service whose output goes to journald; comparing it with
    the stream itself (systemd.exec(5)) keeps a child whose output was redirected from
    prefixing lines a file or a terminal receives.
    """
    expected = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return False
    return expected == f"{status.st_dev}:{status.st_ino}"


def _with_priority(renderer: Callable[..., str]) -> Callable[..., str]:
    """``renderer``, its line prefixed with the syslog priority of the event's level."""

    def render(logger: Any, method: str, event: dict[str, Any]) -> str:
        priority = PRIORITIES.get(str(event.get("level", method)), PRIORITIES["info"])
        return f"<{priority}>{renderer(logger, method, event)}"

    return render


def configure_logging(
    log_format: str = "auto",
    level: str = "info",
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Configure structlog for the whole process; safe to call again (e.g. after a reload).

    ``environ`` (the process environment when None) is where ``JOURNAL_STREAM`` is read.
    """
    output = stream or sys.stderr
    use_console = log_format == "console" or (log_format == "auto" and output.isatty())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _readable_values,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        render_console if use_console else structlog.processors.JSONRenderer(default=str)
    )
    if writes_to_journal(output, environ):
        renderer = _with_priority(renderer)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=False,
    )
