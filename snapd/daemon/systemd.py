"""The sd_notify protocol, spoken directly: one datagram per message to $NOTIFY_SOCKET.

systemd's own library is not needed for this: a notification is a newline-separated
list of ``KEY=value`` assignments sent to an AF_UNIX datagram socket whose address the
service manager puts in ``NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket).
Outside systemd the variable is unset and every function here quietly returns False.
A notification is a courtesy to the supervisor; failing to send one never stops snapd.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping

from snapd.clock import Clock, SystemClock, monotonic_microseconds

__all__ = [
    "Watchdog",
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog",
    "watchdog_interval",
]


def _environment(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _address(value: str) -> str | None:
    """The socket address for a ``NOTIFY_SOCKET`` value, or None when unsupported."""
    if value.startswith("@"):
        # Linux abstract namespace: the name starts with a NUL byte instead of "@".
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # e.g. systemd's "vsock:" form, which a VM guest service does not get


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` to the service manager.

    Args:
        message: newline-separated ``KEY=value`` assignments, e.g. ``"READY=1"``.
        environ: where to read ``NOTIFY_SOCKET``; the process environment when None.

    Returns:
        True when the datagram was sent; False when not running under systemd (no
        ``NOTIFY_SOCKET``), when the address form is unsupported, or on any socket error.
        Never raises.
    """
    value = _environment(environ).get("NOTIFY_SOCKET", "")
    address = _address(value) if value else None
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sender:
            sender.connect(address)
            sender.sendall(message.encode("utf-8"))
    except (OSError, ValueError):
        return False
    return True


def _status_line(text: str) -> str:
    # A newline would end the assignment and let the rest be read as another key.
    return "STATUS=" + " ".join(text.split())


def _with_status(first: str, text: str) -> str:
    return f"{first}\n{_status_line(text)}" if text else first


def ready(status: str = "", environ: Mapping[str, str] | None = None) -> bool:
    """Startup (or a reload) finished: ``READY=1``, with an optional status line."""
    return notify(_with_status("READY=1", status), environ)


def reloading(monotonic_usec: int | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """A reload began: ``RELOADING=1`` with the CLOCK_MONOTONIC time in microseconds.

    ``Type=notify-reload`` requires the timestamp; send ``ready()`` once the reload
    finished (successfully or not), or systemd considers the reload still running.
    """
    if monotonic_usec is None:
        monotonic_usec = monotonic_microseconds()
    return notify(f"RELOADING=1\nMONOTONIC_USEC={monotonic_usec}", environ)


def stopping(status: str = "", environ: Mapping[str, str] | None = None) -> bool:
    """Shutdown began: ``STOPPING=1``, with an optional status line."""
    return notify(_with_status("STOPPING=1", status), environ)


def status(text: str, environ: Mapping[str, str] | None = None) -> bool:
    """One line for ``systemctl status``: ``STATUS=text`` (newlines become spaces)."""
    return notify(_status_line(text), environ)


def watchdog(environ: Mapping[str, str] | None = None) -> bool:
    """Tell the watchdog the service is alive: ``WATCHDOG=1``."""
    return notify("WATCHDOG=1", environ)


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to ping the watchdog, in seconds: half of ``WATCHDOG_USEC``.

    Half the timeout, as systemd recommends, so that one late ping is not fatal.

    Returns:
        None when no watchdog is configured: ``WATCHDOG_USEC`` unset, not a positive
        integer, or ``WATCHDOG_PID`` set to another process (the watchdog is meant for
        that process, e.g. a parent that exec'd snapd without clearing it).
    """
    environment = _environment(environ)
    owner = environment.get("WATCHDOG_PID")
    if owner is not None:
        try:
            if int(owner) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        microseconds = int(environment.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if microseconds <= 0:
        return None
    return microseconds / 2_000_000


class Watchdog:
    """Pings the systemd watchdog from a daemon thread while ``healthy()`` says so.

    When ``healthy()`` returns False (or raises), the ping is skipped: systemd then
    restarts the service after ``WatchdogSec=``, which is the point of a watchdog for a
    daemon whose scheduler has hung. The thread keeps checking, so a recovery resumes
    the pings in time.

    Args:
        healthy: called before every ping; must be quick.
        interval: seconds between pings; from the environment (``watchdog_interval``)
            when None. Without an interval ``start`` does nothing.
        environ: where to read ``NOTIFY_SOCKET`` and the watchdog variables.
        clock: what the interval waits on (default: the real clock).
    """

    def __init__(
        self,
        healthy: Callable[[], bool] = lambda: True,
        interval: float | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.healthy = healthy
        # systemd counts the interval in real time: the daemon leaves the default.
        self.clock = clock or SystemClock()
        self.environ = environ
        self.interval = interval if interval is not None else watchdog_interval(environ)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """True while the pinging thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start pinging (the first ping at once); False when no watchdog is configured.

        Raises:
            RuntimeError: already started.
        """
        if self._thread is not None:
            raise RuntimeError("the watchdog is already running")
        if self.interval is None or self.interval <= 0:
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="snapd-watchdog", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop pinging and join the thread. Idempotent."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        assert self.interval is not None
        while not self._stop.is_set():
            if self._is_healthy():
                watchdog(self.environ)
            self.clock.wait(self._stop, self.interval)

    def _is_healthy(self) -> bool:
        try:
            return bool(self.healthy())
        except Exception:  # a failing check means "not healthy", never a dead thread
            return False
