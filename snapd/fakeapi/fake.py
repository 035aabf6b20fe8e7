"""``FakeHostinger``: the embedded fake Hostinger VPS API that tests and demos run."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from types import TracebackType

from snapd.clock import Clock, SystemClock
from snapd.fakeapi.controls import FakeState
from snapd.fakeapi.direct import DirectAnswer, Headers, answer_directly
from snapd.fakeapi.dispatch import Dispatcher
from snapd.fakeapi.faults import NO_SNAPSHOT_ANSWERS, Fault, FaultInjector
from snapd.fakeapi.limiter import make_limiter
from snapd.fakeapi.machine_controls import MachineControls
from snapd.fakeapi.model import TIME_STYLES
from snapd.fakeapi.requestlog import RecordedRequest, RequestLog, matching
from snapd.fakeapi.server import Answerer, FakeHTTPServer


class FakeHostinger(MachineControls):
    """A fake of the Hostinger VPS API (snapshots, actions, backups) on a local port.

    The VMs (``vm_count`` of them, ids from ``first_vm_id``) start running, unlocked,
    without a snapshot and with one or two weekly backups. A create, delete or restore
    starts an action that goes created → sent → success over ``action_seconds`` of the
    ``clock`` (default: the system clock); a ``ManualClock`` moves it with no waiting.
    ``requests_per_minute`` sets a sliding-window rate limit; ``fixed_window=(N, W)`` instead
    allows N requests per window of W seconds that opens at the first request, as Laravel's
    throttle counts (``None``: no limit). ``retry_after`` makes a 429 name that many seconds
    in ``Retry-After`` whatever the truth (a server that lies); it needs a limit. Everything
    random (ids, seeded data, probabilistic faults, correlation ids) follows ``seed``.
    ``no_snapshot_as`` says how a VM without a snapshot is answered (see ``Fault``).

    Time: ``clock_skew`` (seconds, may be negative, settable at any time) sets the
    server's clock to the fake's clock plus the skew. Every timestamp the fake writes
    (actions' ``created_at``/``updated_at``, the ``created_at``/``expires_at`` of a
    snapshot an action makes) and the ``Date`` header of every answer follow the server
    clock; action progress follows the fake's clock. ``action_list_lag`` (seconds) keeps a
    new action out of ``GET …/actions`` for that long (``GET …/actions/{id}`` finds it).

    Use as a context manager (on an ephemeral port), ``start``/``stop`` it, or ``answer``.
    """

    def __init__(  # noqa: PLR0913 - optional collaborators and settings, each with a default
        self,
        token: str = "test-token",
        vm_count: int = 3,
        action_seconds: float = 2.0,
        requests_per_minute: int | None = None,
        seed: int = 0,
        clock: Clock | None = None,
        first_vm_id: int = 1268054,
        *,
        no_snapshot_as: str = "404",
        verbose: bool = False,
        fixed_window: tuple[int, float] | None = None,
        retry_after: float | None = None,
    ) -> None:
        if not token:
            raise ValueError("the fake needs a non-empty token")
        if vm_count < 0:
            raise ValueError(f"vm_count must not be negative, got {vm_count}")
        if action_seconds < 0:
            raise ValueError(f"action_seconds must not be negative, got {action_seconds}")
        self.token = token
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.verbose = verbose
        self.no_snapshot_as = no_snapshot_as
        self._state = FakeState(
            clock=self.clock,
            vm_count=vm_count,
            first_vm_id=first_vm_id,
            action_seconds=action_seconds,
            seed=seed,
        )
        self._faults = FaultInjector(seed)
        self._log = RequestLog()
        self.dispatcher = Dispatcher(
            token=token,
            state=self._state,
            faults=self._faults,
            limiter=make_limiter(requests_per_minute, fixed_window, retry_after),
            log=self._log,
            clock=self.clock,
            seed=seed,
            action_seconds=action_seconds,
            no_snapshot_as=lambda: self._no_snapshot_as,
        )
        self.answerer: Answerer = self.dispatcher  # ``FakeAccounts`` routes by token here
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- running ------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0: any free port) and serve in a background thread.

        ``OSError`` when the address cannot be bound; ``RuntimeError`` when already started.
        """
        if self._server is not None:
            raise RuntimeError("the fake is already running")
        server = FakeHTTPServer(host, port, self.answerer, verbose=self.verbose)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            # A short poll keeps stop() quick; an idle wake-up every 10 ms costs next to nothing.
            kwargs={"poll_interval": 0.01},
            name="fake-hostinger",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close open connections and join the serving thread. Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeHostinger:
        self.start()
        return self

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def answer(self, method: str, target: str, headers: Headers) -> DirectAnswer:
        """Answer in this thread, as the HTTP server would: see ``snapd.fakeapi.direct``."""
        return answer_directly(self.answerer, method, target, headers)

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` without a trailing slash; ``RuntimeError`` before ``start``."""
        if self._server is None:
            raise RuntimeError("the fake is not running")
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    @property
    def vm_ids(self) -> list[int]:
        """The ids of the fake's VMs."""
        return self._state.virtual_machine_ids()

    @property
    def action_seconds(self) -> float:
        """How long an action created from now on takes (unless a fault shapes it)."""
        return self._state.action_seconds

    @action_seconds.setter
    def action_seconds(self, seconds: float) -> None:
        self._state.action_seconds = seconds

    @property
    def no_snapshot_as(self) -> str:
        """How ``GET …/snapshot`` answers for a VM without snapshot: 404, null, empty or
        null_fields (see ``Fault``), unless a ``no_snapshot_as`` fault says otherwise."""
        return self._no_snapshot_as

    @no_snapshot_as.setter
    def no_snapshot_as(self, value: str) -> None:
        if value not in NO_SNAPSHOT_ANSWERS:
            raise ValueError(f"no_snapshot_as must be one of {', '.join(NO_SNAPSHOT_ANSWERS)}")
        self._no_snapshot_as = value

    @property
    def clock_skew(self) -> float:
        """Seconds the server's clock runs ahead of the fake's clock (negative: behind)."""
        return self._state.clock_skew.total_seconds()

    @clock_skew.setter
    def clock_skew(self, seconds: float) -> None:
        self._state.clock_skew = timedelta(seconds=seconds)

    @property
    def snapshot_time_style(self) -> str:
        """How ``GET …/snapshot`` writes ``created_at``: ``iso`` (the API's own form), or
        ``iso_offset_fraction``, ``epoch``, ``epoch_text``, ``rfc2822``, ``utc_suffix``
        (forms a server plausibly sends), or ``unreadable`` (a text nobody can read)."""
        return self._state.snapshot_time_style

    @snapshot_time_style.setter
    def snapshot_time_style(self, style: str) -> None:
        if style not in TIME_STYLES:
            raise ValueError(f"snapshot_time_style must be one of {', '.join(TIME_STYLES)}")
        self._state.snapshot_time_style = style

    @property
    def action_list_lag(self) -> float:
        """Seconds after its creation before an action shows in ``GET …/actions``."""
        return self._state.action_list_lag.total_seconds()

    @action_list_lag.setter
    def action_list_lag(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"action_list_lag must not be negative, got {seconds}")
        self._state.action_list_lag = timedelta(seconds=seconds)

    def server_now(self) -> datetime:
        """The fake server's clock: its clock plus ``clock_skew``."""
        return self._state.server_now()

    # ----- request log --------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log, in arrival order."""
        return self._log.entries()

    def requests_matching(
        self, method: str | None = None, path_suffix: str | None = None
    ) -> list[RecordedRequest]:
        """Logged requests with ``method`` whose path ends with ``path_suffix``."""
        return matching(self._log.entries(), method, path_suffix)

    def count(self, method: str | None = None, path_suffix: str | None = None) -> int:
        """How many logged requests match; ``count("POST", "/snapshot")`` counts creates."""
        return len(self.requests_matching(method, path_suffix))

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._log.clear()

    # ----- faults ---------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Arm ``fault`` (see ``Fault`` for the kinds)."""
        self._faults.add(fault)

    def remove_fault(self, fault: Fault) -> None:
        """Disarm ``fault`` (every copy of it), leaving the other faults armed."""
        self._faults.remove(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._faults.clear()
