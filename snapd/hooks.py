"""Health checks and pre/post hooks around a snapshot.

A failed health check or pre-hook vetoes the snapshot: overwriting the single restore
point with an image of an unhealthy machine is worse than keeping the older one. Both
functions here report problems in their result and never raise, so one broken hook cannot
break a job. Hooks run argv lists, never a shell string.
"""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

import requests
import structlog

from snapd.clock import utc_text
from snapd.config import HealthCheck, HookCommand
from snapd.durations import format_duration
from snapd.masking import mask_url

__all__ = ["HookResult", "hook_environment", "run_health_check", "run_hook"]

OUTPUT_LIMIT = 4000
# Enough to hold OUTPUT_LIMIT characters of any UTF-8 text.
_OUTPUT_BYTES_LIMIT = OUTPUT_LIMIT * 4
# After the hook exits, background children may keep its output pipe open; stop reading
# after this long rather than wait for them.
_OUTPUT_DRAIN_SECONDS = 2.0


@dataclass(frozen=True)
class HookResult:
    """What a check or hook said: ``ok``, a one-line ``detail``, and for hooks the exit
    code (negative: killed by that signal; ``None``: never ran to an end) and the last
    characters of its merged stdout and stderr."""

    ok: bool
    detail: str
    exit_code: int | None = None
    output: str = ""


def logger() -> structlog.typing.FilteringBoundLogger:
    """The module's logger, looked up per use so that log capture in tests sees it."""
    found: structlog.typing.FilteringBoundLogger = structlog.get_logger("snapd.hooks")
    return found


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


def run_health_check(
    check: HealthCheck,
    session: requests.Session | None = None,
    *,
    virtual_machine_id: int | None = None,
) -> HookResult:
    """GET ``check.url`` and judge the answer; never raises.

    ``ok`` when the final status (redirects followed) is in ``check.expect_status``, or
    is any 2xx when that is empty. TLS certificates are always verified. The body is not
    read. ``virtual_machine_id`` only labels the log line.
    """
    shown_url = mask_url(check.url)
    seconds = check.timeout.total_seconds()
    try:
        if session is None:
            response = requests.get(check.url, timeout=seconds, verify=True, stream=True)
        else:
            response = session.get(check.url, timeout=seconds, verify=True, stream=True)
        with response:
            status = response.status_code
    except requests.Timeout:
        result = HookResult(
            False, f"GET {shown_url} timed out after {_duration_text(check.timeout)}"
        )
    except requests.RequestException as error:
        result = HookResult(False, f"GET {shown_url} failed: {_request_failure(error)}")
    except Exception as error:  # a broken URL or session must veto, not crash the job
        result = HookResult(False, f"GET {shown_url} failed: {type(error).__name__}: {error}")
    else:
        accepted = status in check.expect_status if check.expect_status else 200 <= status < 300
        result = HookResult(accepted, f"GET {shown_url} answered {status}")
    _log_outcome("health_check_finished", result, virtual_machine_id)
    return result


# Secrets a hook has no business seeing: it is someone else's program.
WITHHELD_VARIABLES = frozenset({"HOSTINGER_API_TOKEN", "CREDENTIALS_DIRECTORY"})


def _inherited_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in WITHHELD_VARIABLES}


def run_hook(hook: HookCommand, environment: Mapping[str, str]) -> HookResult:
    """Run ``hook.command`` (an argv list) and wait at most ``hook.timeout``; never raises.

    The child gets this process's environment (less the API token) plus ``environment``,
    no stdin, and a new session. ``ok`` when it exits 0. On timeout its whole process group
    is killed. The merged stdout and stderr are returned, cut to the last ~4000 characters.
    """
    machine_text = environment.get("SNAPD_VM_ID", "")
    virtual_machine_id = int(machine_text) if machine_text.isdigit() else None
    if not hook.command:
        result = HookResult(False, "empty command")
        _log_outcome("hook_finished", result, virtual_machine_id)
        return result
    executable = hook.command[0]
    try:
        process = subprocess.Popen(
            list(hook.command),
            shell=False,
            env={**_inherited_environment(), **environment},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        result = HookResult(False, f"command not found: {executable}")
    except PermissionError:
        result = HookResult(False, f"command is not executable: {executable}")
    except OSError as error:
        result = HookResult(False, f"command cannot start: {executable}: {error.strerror}")
    except (ValueError, TypeError) as error:  # e.g. a NUL byte in an argument
        result = HookResult(False, f"command cannot start: {executable}: {error}")
    else:
        result = _wait(process, hook.timeout)
    _log_outcome("hook_finished", result, virtual_machine_id, command=executable)
    return result


def _wait(process: subprocess.Popen[bytes], timeout: timedelta) -> HookResult:
    assert process.stdout is not None
    collector = _TailCollector(process.stdout)
    collector.start()
    try:
        exit_code = process.wait(timeout=timeout.total_seconds())
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.wait()
        collector.join(_OUTPUT_DRAIN_SECONDS)
        return HookResult(
            False,
            f"timed out after {_duration_text(timeout)}",
            process.returncode,
            collector.text(),
        )
    collector.join(_OUTPUT_DRAIN_SECONDS)
    if exit_code == 0:
        detail = "exit code 0"
    elif exit_code < 0:
        detail = f"killed by signal {_signal_name(-exit_code)}"
    else:
        detail = f"exit code {exit_code}"
    return HookResult(exit_code == 0, detail, exit_code, collector.text())


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # start_new_session made the hook a group leader: its pid is the group id, and the
    # group holds every child it started, which must not outlive the timeout either.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class _TailCollector(threading.Thread):
    """Reads a pipe to its end, keeping only the last bytes.

    A thread rather than ``communicate()``: the hook's output has no size limit, and a
    background child that inherited the pipe must not make the wait hang.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(name="snapd-hook-output", daemon=True)
        self._stream = stream
        self._tail = bytearray()
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            while chunk := os.read(self._stream.fileno(), 65536):
                with self._lock:
                    self._tail += chunk
                    del self._tail[:-_OUTPUT_BYTES_LIMIT]
        except (OSError, ValueError):
            pass
        finally:
            self._stream.close()

    def text(self) -> str:
        with self._lock:
            data = bytes(self._tail)
        return data.decode("utf-8", "replace")[-OUTPUT_LIMIT:]


def _log_outcome(
    event: str, result: HookResult, virtual_machine_id: object, **fields: object
) -> None:
    log = logger()
    if result.exit_code is not None:
        fields["exit_code"] = result.exit_code
    report = log.info if result.ok else log.warning
    report(event, vm=virtual_machine_id, ok=result.ok, detail=result.detail, **fields)
    if result.output:
        # Output can be long and noisy; it matters mostly when the hook failed.
        show = log.debug if result.ok else log.info
        show(
            f"{event.removesuffix('_finished')}_output", vm=virtual_machine_id, output=result.output
        )


def _utc_text(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {moment.isoformat()}")
    return utc_text(moment)


def _duration_text(duration: timedelta) -> str:
    """``10s``, ``2m``, ``0.5s``: the way durations are written in the policy."""
    if duration.total_seconds() == int(duration.total_seconds()) and duration >= timedelta(0):
        return format_duration(duration)
    return f"{duration.total_seconds():g}s"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _request_failure(error: requests.RequestException) -> str:
    """A short reason from the chain of wrapped exceptions inside a requests error."""
    if isinstance(error, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema)):
        return "invalid URL"
    causes = list(_causes(error))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {cause.verify_message}"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS handshake failed"
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return str(cause.strerror).lower()
    if isinstance(error, requests.ConnectionError):
        return "connection failed"
    return type(error).__name__


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps: requests and urllib3 keep causes in ``reason``,
    in ``args`` or as the exception being handled when they were raised."""
    pending = [error]
    seen: set[int] = set()
    while pending and len(seen) < 20:
        cause = pending.pop(0)
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        reason = getattr(cause, "reason", None)
        candidates = [reason, *cause.args, cause.__cause__, cause.__context__]
        pending += [item for item in candidates if isinstance(item, BaseException)]
