"""The health check: one HTTP GET that must answer well before a snapshot is overwritten.

A check that cannot finish must not hold the job (and the VM's lock) either: the request
runs in a worker thread and the caller waits for it at most ``check.timeout`` in total,
then shuts the worker's sockets down (``snapd.checks.abortable``). A socket timeout alone
would not do: it bounds each read, so a server that trickles a byte every few seconds
would hold the check forever. A given session is the caller's and is not changed; its
late worker ends by its socket timeout instead.
"""

from __future__ import annotations

import ssl
import threading

import requests

from snapd.checks.abortable import AbortableAdapter
from snapd.checks.failures import causes
from snapd.checks.result import HookResult, log_outcome
from snapd.config import HealthCheck
from snapd.config.masking import mask_url
from snapd.logs import duration_text

__all__ = ["run_health_check"]


def run_health_check(
    check: HealthCheck,
    session: requests.Session | None = None,
    *,
    virtual_machine_id: int | None = None,
) -> HookResult:
    """GET ``check.url`` and judge the answer, within ``check.timeout`` in total; never raises.

    ``ok`` when the final status (redirects followed) is in ``check.expect_status``, or
    is any 2xx when that is empty. TLS certificates are always verified. The body is not
    read. The URL shows masked in the result and the log. ``virtual_machine_id`` only
    labels the log line.
    """
    shown_url = mask_url(check.url)
    answers: list[HookResult] = []
    adapter = AbortableAdapter() if session is None else None

    def ask() -> None:
        if adapter is None:
            answers.append(_get(check, session, shown_url))
            return
        with requests.Session() as own:
            adapter.mount(own)
            answers.append(_get(check, own, shown_url))

    # Daemonic: a worker past the deadline must not keep the process from exiting.
    worker = threading.Thread(target=ask, name="snapd-health-check", daemon=True)
    worker.start()
    worker.join(check.timeout.total_seconds())
    result = answers[0] if answers else _timed_out(check, shown_url)
    if not answers and adapter is not None:
        # Cut the connection so that the worker ends now rather than at the server's pace.
        adapter.abort()
    log_outcome("health_check_finished", result, virtual_machine_id)
    return result


def _timed_out(check: HealthCheck, shown_url: str) -> HookResult:
    cause = f"timed out after {duration_text(check.timeout)}"
    return HookResult(False, f"GET {shown_url} {cause}", cause=cause)


def _get(check: HealthCheck, session: requests.Session | None, shown_url: str) -> HookResult:
    seconds = check.timeout.total_seconds()
    try:
        if session is None:
            response = requests.get(check.url, timeout=seconds, verify=True, stream=True)
        else:
            response = session.get(check.url, timeout=seconds, verify=True, stream=True)
        with response:
            status = response.status_code
    except requests.Timeout:
        return _timed_out(check, shown_url)
    except requests.RequestException as error:
        cause = _request_failure(error)
    except Exception as error:  # a broken URL or session must veto, not crash the job
        cause = f"{type(error).__name__}: {str(error).replace(check.url, shown_url)}"
    else:
        accepted = status in check.expect_status if check.expect_status else 200 <= status < 300
        return HookResult(accepted, f"GET {shown_url} answered {status}", cause=f"status {status}")
    return HookResult(False, f"GET {shown_url} failed: {cause}", cause=cause)


def _request_failure(error: requests.RequestException) -> str:
    """A short reason from the chain of wrapped exceptions inside a requests error."""
    if isinstance(error, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema)):
        return "invalid URL"
    chain = list(causes(error))
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {cause.verify_message}"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS handshake failed"
    for cause in chain:
        if isinstance(cause, OSError) and cause.strerror:
            return str(cause.strerror).lower()
    if isinstance(error, requests.ConnectionError):
        return "connection failed"
    return type(error).__name__
