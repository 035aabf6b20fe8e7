"""Health checks and pre/post hooks around a snapshot.

A failed health check or pre-hook vetoes the snapshot: overwriting the single restore
point with an image of an unhealthy machine is worse than keeping the older one. Both
functions here report problems in their result and never raise, so one broken hook cannot
break a job, and neither runs past its timeout, so one hung hook cannot hold a VM's lock.
Hooks run argv lists, never a shell string. The health check lives in
``snapd.checks.health_check``; it is re-exported here for the pipeline.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import IO

from snapd.checks.health_check import run_health_check
from snapd.checks.result import HookResult, log_outcome
from snapd.clock import Clock, SystemClock, utc_text
from snapd.config import HookCommand
from snapd.config.hook_environment import hook_variables, withheld
from snapd.logs import duration_text

__all__ = ["HookResult", "hook_environment", "run_health_check", "run_hook"]

OUTPUT_LIMIT = 4000
# Enough to hold OUTPUT_LIMIT characters of any UTF-8 text.
_OUTPUT_BYTES_LIMIT = OUTPUT_LIMIT * 4
# After the hook exits, background children may keep its output pipe open; stop reading
# after this long rather than wait for them.
_OUTPUT_DRAIN_SECONDS = 2.0
# Reading what a killed hook left in the pipe takes milliseconds; do not wait longer.
_KILLED_DRAIN_SECONDS = 0.5
_CAUSE_LIMIT = 200


def hook_environment(
    virtual_machine_id: int, slot: datetime | None, result: str | None = None
) -> dict[str, str]:
    """The variables a hook receives: ``SNAPD_VM_ID``, ``SNAPD_SLOT`` and, for post-hooks,
    ``SNAPD_RESULT``.

    ``SNAPD_SLOT`` is ISO 8601 UTC ending in ``Z``, or empty for a run outside the schedule.

    Raises:
        ValueError: ``slot`` is naive.
    """
    environment = {"SNAPD_VM_ID": str(virtual_machine_id), "SNAPD_SLOT": _utc_text(slot)}
    if result is not None:
        environment["SNAPD_RESULT"] = result
    return environment


def _child_environment(hook: HookCommand, environment: Mapping[str, str]) -> dict[str, str]:
    # A hook is someone else's program: it gets an allow-list of snapd's environment and
    # what its ``env`` names, never a secret (PGPASSWORD, the API token, ...).
    inherited = hook_variables(os.environ, hook.environment)
    return {**inherited, **{key: value for key, value in environment.items() if not withheld(key)}}


def run_hook(
    hook: HookCommand, environment: Mapping[str, str], clock: Clock | None = None
) -> HookResult:
    """Run ``hook.command`` (an argv list) for at most ``hook.timeout``; never raises.

    The child gets ``PATH``, ``HOME``, ``LANG``, ``LC_*`` and ``TZ`` of this process's
    environment, the variables ``hook.environment`` names, and ``environment`` (the
    ``SNAPD_*`` variables); secrets (``PG*``, ``*TOKEN``, ``*PASSWORD``, ``*SECRET``, the
    API credentials) never. It gets no stdin, and a new session. ``ok`` when it exits 0.
    On timeout its whole process group (the hook and every child it started) is killed.
    The merged stdout and stderr are returned, cut to the last ~4000 characters; a
    failure's ``cause`` ends with the last line of it. The call returns within
    ``hook.timeout`` plus about two seconds. The log line names the executable, never the
    environment. ``clock`` (default: the real one) measures the output's drain deadline;
    the hook itself is a real process, timed out in real time.
    """
    machine_text = environment.get("SNAPD_VM_ID", "")
    virtual_machine_id = int(machine_text) if machine_text.isdigit() else None
    if not hook.command:
        result = _failed("empty command")
        log_outcome("hook_finished", result, virtual_machine_id)
        return result
    executable = hook.command[0]
    try:
        process = subprocess.Popen(
            list(hook.command),
            shell=False,
            env=_child_environment(hook, environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        result = _failed(f"command not found: {executable}")
    except PermissionError:
        result = _failed(f"command is not executable: {executable}")
    except OSError as error:
        result = _failed(f"command cannot start: {executable}: {error.strerror}")
    except (ValueError, TypeError) as error:  # e.g. a NUL byte in an argument
        result = _failed(f"command cannot start: {executable}: {error}")
    else:
        result = _wait(process, hook.timeout, clock or SystemClock())
    log_outcome("hook_finished", result, virtual_machine_id, command=executable)
    return result


def _failed(cause: str) -> HookResult:
    return HookResult(False, cause, cause=cause)


def _wait(process: subprocess.Popen[bytes], timeout: timedelta, clock: Clock) -> HookResult:
    assert process.stdout is not None
    deadline = clock.monotonic() + timeout.total_seconds()
    collector = _TailCollector(process.stdout)
    collector.start()
    try:
        exit_code = process.wait(timeout=timeout.total_seconds())
    except subprocess.TimeoutExpired:
        _kill_group(process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=_KILLED_DRAIN_SECONDS)
        collector.finish(_KILLED_DRAIN_SECONDS)
        cause = f"timed out after {duration_text(timeout)}"
        return HookResult(False, cause, process.returncode, collector.text(), cause)
    # Output still in the pipe is read; a background child holding the pipe open is not
    # waited for beyond the hook's own deadline (and never more than a couple of seconds).
    collector.finish(max(0.2, min(_OUTPUT_DRAIN_SECONDS, deadline - clock.monotonic())))
    output = collector.text()
    if exit_code == 0:
        cause = "exit code 0"
    elif exit_code < 0:
        cause = _with_last_line(f"killed by signal {_signal_name(-exit_code)}", output)
    else:
        cause = _with_last_line(f"exit code {exit_code}", output)
    return HookResult(exit_code == 0, cause, exit_code, output, cause)


def _with_last_line(cause: str, output: str) -> str:
    """``exit code 3: disk full``: the last thing a failed hook said is usually why."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return cause
    last = lines[-1]
    return f"{cause}: {last if len(last) <= _CAUSE_LIMIT else last[: _CAUSE_LIMIT - 3] + '...'}"


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # start_new_session made the hook a group leader: its pid is the group id, and the
    # group holds every child it started, which must not outlive the timeout either.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class _TailCollector(threading.Thread):
    """Reads a pipe until its end or until told to stop, keeping only the last bytes.

    A thread rather than ``communicate()``: the hook's output has no size limit, and a
    background child that inherited the pipe must not make the wait hang. Reads wait in
    ``select`` with a short timeout so that ``finish`` can stop them at any moment.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(name="snapd-hook-output", daemon=True)
        self._stream = stream
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def run(self) -> None:
        descriptor = self._stream.fileno()
        try:
            while not self._stopping.is_set():
                readable, _, _ = select.select([descriptor], [], [], 0.05)
                if not readable:
                    continue
                chunk = os.read(descriptor, 65536)
                if not chunk:
                    break
                with self._lock:
                    self._tail += chunk
                    del self._tail[:-_OUTPUT_BYTES_LIMIT]
        except (OSError, ValueError):
            pass
        finally:
            self._stream.close()

    def finish(self, seconds: float) -> None:
        """Let the reader reach the end of the pipe for up to ``seconds``, then stop it."""
        self.join(seconds)
        self._stopping.set()
        self.join(1.0)

    def text(self) -> str:
        with self._lock:
            data = bytes(self._tail)
        return data.decode("utf-8", "replace")[-OUTPUT_LIMIT:]


def _utc_text(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {moment.isoformat()}")
    return utc_text(moment)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
