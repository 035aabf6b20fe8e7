"""structlog configuration: one line per event, JSON for machines or console for people.

Log lines go to standard error; standard output is kept for command results. ``auto``
picks the console renderer on a terminal and JSON otherwise (journald, containers).
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any, TextIO

import structlog

from snapd.clock import utc_text

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _readable_values(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Times as ISO 8601 UTC (``...Z``) and no empty fields: lines read like a report."""
    for key, value in list(event.items()):
        if value is None:
            del event[key]
        elif isinstance(value, datetime):
            event[key] = utc_text(value)
    return event


def configure_logging(
    log_format: str = "auto", level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog for the whole process; safe to call again (e.g. after a reload)."""
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
        structlog.dev.ConsoleRenderer(colors=output.isatty())
        if use_console
        else structlog.processors.JSONRenderer(default=str)
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=False,
    )
