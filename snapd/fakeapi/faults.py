"""Fault injection: make chosen calls of the fake misbehave, deterministically.

A ``Fault`` names an endpoint (or ``"*"``) and a kind. Without ``probability`` it applies
to the next ``count`` matching calls (``count=None``: every matching call until cleared).
With ``probability`` it applies to each matching call with that probability, drawn from a
``random.Random`` seeded by the fake's seed, until cleared; ``count`` is ignored then.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from snapd.fakeapi import registry
from snapd.fakeapi.model import Timeline, endless_timeline, error_timeline, timeline_through

ENDPOINTS = frozenset(endpoint.name for endpoint in registry.ENDPOINTS)
ANY_ENDPOINT = "*"
NO_SNAPSHOT_ANSWERS = ("404", "null", "empty", "null_fields")

_BEFORE_KINDS = frozenset({"status"})
_AFTER_KINDS = frozenset(
    {"accept_then_fail", "accept_then_drop", "malformed_json", "huge_body", "deep_json"}
)
_DELIVERY_KINDS = frozenset({"trickle", "trickle_body", "accept_then_timeout"})
_ACTION_KINDS = frozenset({"action_never_finishes", "action_error", "action_states"})
FAULT_KINDS = (
    _BEFORE_KINDS
    | _AFTER_KINDS
    | _DELIVERY_KINDS
    | _ACTION_KINDS
    | frozenset({"latency", "no_snapshot_as"})
)
#: Default size of a ``huge_body`` answer: 8 MiB, well past any client's cap.
HUGE_BODY_BYTES = 8 * 1024 * 1024
#: Nesting depth of a ``deep_json`` answer, far past Python's recursion limit.
DEEP_JSON_DEPTH = 100_000
# Action faults shape the action a call creates, so naming the endpoint that reads the
# action ("get_action:action_states:...") means "the next actions created".
_ACTION_READING_ENDPOINTS = frozenset({"get_action", "list_actions"})
_ACTION_ENDPOINTS = _ACTION_READING_ENDPOINTS | frozenset(
    {"create_snapshot", "delete_snapshot", "restore_snapshot", "restore_backup", ANY_ENDPOINT}
)


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour. ``ValueError`` from the constructor when inconsistent.

    Kinds:

    - ``status``: answer ``status`` with an error body ``{message, correlation_id}``
      without executing the call. 429 and 503 carry ``Retry-After: 1`` unless ``headers``
      say otherwise; ``headers`` are added to the answer (``{"Retry-After": "86400"}``), and
      one given an empty value is left out (``{"Retry-After": ""}``: a 429 without it).
    - ``latency``: sleep ``seconds`` of real time, then answer normally (client timeouts).
    - ``accept_then_fail``: execute the call (an action is created) and answer 500.
    - ``accept_then_drop``: execute the call, then close the connection without an answer.
    - ``malformed_json``: execute the call, then answer 200 with a body that is not JSON
      (the work was done; the answer got mangled on the way).
    - ``huge_body``: execute the call, then answer 200 with a JSON array of ``size`` bytes
      (default 8 MiB), streamed, never held in memory; it stops when the client hangs up.
    - ``deep_json``: execute the call, then answer 200 with 100 000 nested arrays.
    - ``trickle``: execute the call, then send the whole answer (status line, headers,
      body) one byte every ``seconds`` of real time; ``trickle_body`` sends the headers
      at once and trickles the body. Both stop when the client disconnects or the fake
      stops.
    - ``accept_then_timeout``: execute the call (it is in the request log at once), then
      hold the answer for ``seconds`` of real time before sending it: "the server did it,
      the client timed out". The hold ends early when the fake stops.
    - ``action_never_finishes``: the action created by the call stays in ``sent`` forever,
      and the VM's ``actions_lock`` stays ``locked``.
    - ``action_error``: the action created ends in ``error``; the snapshot is untouched.
    - ``action_states``: the action created walks through ``states`` in equal steps, the
      last one reached when the fake's ``action_seconds`` have passed. Undocumented states
      such as ``started`` are served as given; a last state other than ``success`` or
      ``error`` never finishes.
    - ``no_snapshot_as``: only for ``get_snapshot`` on a VM without a snapshot: answer as
      ``no_snapshot_as``: ``"404"`` (404 with an error body), ``"null"`` (200 ``null``),
      ``"empty"`` (200 ``{}``) or ``"null_fields"`` (200, every snapshot field null).

    Action kinds are used up only by calls that really create an action (a busy 422 does
    not consume them); they match ``create_snapshot``, ``delete_snapshot``,
    ``restore_snapshot``, ``restore_backup``, and, for any of those, ``get_action``,
    ``list_actions`` or ``"*"``.
    """

    kind: str
    endpoint: str = ANY_ENDPOINT
    count: int | None = 1
    probability: float | None = None
    status: int = 500
    seconds: float = 0.0
    states: Sequence[str] | None = None
    no_snapshot_as: str = "404"
    headers: Mapping[str, str] | tuple[tuple[str, str], ...] = ()
    size: int = HUGE_BODY_BYTES

    def __post_init__(self) -> None:
        # Kept as sorted pairs so that the fault stays hashable and comparable.
        pairs = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        object.__setattr__(self, "headers", tuple(sorted((str(k), str(v)) for k, v in pairs)))
        if self.size < 0:
            raise ValueError(f"size must not be negative, got {self.size}")
        self._check()

    @property
    def header_items(self) -> tuple[tuple[str, str], ...]:
        """The extra headers as (name, value) pairs."""
        headers = self.headers
        return headers if isinstance(headers, tuple) else tuple(headers.items())

    def _check(self) -> None:
        self._check_names()
        self._check_numbers()
        self._check_states()
        self._check_fit()

    def _check_names(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {_listing(FAULT_KINDS)}")
        if self.endpoint != ANY_ENDPOINT and self.endpoint not in ENDPOINTS:
            raise ValueError(
                f"unknown endpoint {self.endpoint!r}; known: {_listing(ENDPOINTS)} or *"
            )

    def _check_numbers(self) -> None:
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be at least 1, got {self.count}")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, got {self.probability}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {self.status}")
        if self.seconds < 0:
            raise ValueError(f"seconds must not be negative, got {self.seconds}")

    def _check_states(self) -> None:
        if self.states is not None:
            object.__setattr__(self, "states", tuple(self.states))
        if self.kind == "action_states" and not self.states:
            raise ValueError("an action_states fault needs a non-empty states list")
        if self.states is not None and not all(
            isinstance(state, str) and state for state in self.states
        ):
            raise ValueError("states must be non-empty strings")

    def _check_fit(self) -> None:
        if self.no_snapshot_as not in NO_SNAPSHOT_ANSWERS:
            raise ValueError(
                f"no_snapshot_as must be one of {', '.join(NO_SNAPSHOT_ANSWERS)}, "
                f"got {self.no_snapshot_as!r}"
            )
        if self.kind in _ACTION_KINDS and self.endpoint not in _ACTION_ENDPOINTS:
            raise ValueError(
                f"a {self.kind} fault shapes created actions; its endpoint must be one of "
                f"{_listing(_ACTION_ENDPOINTS)}"
            )
        if self.kind == "no_snapshot_as" and self.endpoint not in ("get_snapshot", ANY_ENDPOINT):
            raise ValueError("a no_snapshot_as fault only applies to get_snapshot")

    def timeline(self, action_seconds: float) -> Timeline:
        """The timeline of an action created under this fault (action kinds only)."""
        if self.kind == "action_never_finishes":
            return endless_timeline(action_seconds)
        if self.kind == "action_error":
            return error_timeline(action_seconds)
        if self.kind == "action_states" and self.states:
            return timeline_through(list(self.states), action_seconds)
        raise ValueError(f"a {self.kind} fault does not shape actions")


def _listing(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


class _Armed:
    """A fault with the number of uses left (``None``: unlimited)."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = None if fault.probability is not None else fault.count


class FaultInjector:
    """The armed faults of one fake; thread-safe and deterministic for a given seed."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._armed: list[_Armed] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        """Arm ``fault``; faults are consulted in the order they were added."""
        with self._lock:
            self._armed.append(_Armed(fault))

    def remove(self, fault: Fault) -> None:
        """Disarm every armed copy of ``fault``; the others stay."""
        with self._lock:
            self._armed = [armed for armed in self._armed if armed.fault != fault]

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def latency(self, endpoint: str) -> float:
        """Seconds to sleep before answering: the sum of every latency fault that fires."""
        return sum(fault.seconds for fault in self._take(endpoint, {"latency"}, first=False))

    def before_execution(self, endpoint: str) -> Fault | None:
        """The fault that answers instead of executing (``status``), if one fires."""
        return next(iter(self._take(endpoint, _BEFORE_KINDS, first=True)), None)

    def after_execution(self, endpoint: str) -> Fault | None:
        """The fault that spoils the answer of an executed call, if one fires."""
        return next(iter(self._take(endpoint, _AFTER_KINDS, first=True)), None)

    def delivery(self, endpoint: str) -> Fault | None:
        """The fault that delays the delivery of an answer (trickle, hold), if one fires."""
        return next(iter(self._take(endpoint, _DELIVERY_KINDS, first=True)), None)

    def action(self, endpoint: str) -> Fault | None:
        """The fault shaping the action that ``endpoint`` is creating, if one fires."""
        return next(iter(self._take(endpoint, _ACTION_KINDS, first=True)), None)

    def no_snapshot(self) -> Fault | None:
        """The ``no_snapshot_as`` fault for a get_snapshot without snapshot, if one fires."""
        return next(iter(self._take("get_snapshot", {"no_snapshot_as"}, first=True)), None)

    def _take(self, endpoint: str, kinds: frozenset[str] | set[str], *, first: bool) -> list[Fault]:
        fired = []
        with self._lock:
            for armed in list(self._armed):
                fault = armed.fault
                if fault.kind not in kinds or not _matches(fault, endpoint):
                    continue
                if fault.probability is not None:
                    # Draw only for matching calls, so that the sequence of outcomes
                    # depends on the calls made and nothing else.
                    if self._random.random() >= fault.probability:
                        continue
                elif armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._armed.remove(armed)
                fired.append(fault)
                if first:
                    break
        return fired


def _matches(fault: Fault, endpoint: str) -> bool:
    if fault.endpoint in (ANY_ENDPOINT, endpoint):
        return True
    return fault.kind in _ACTION_KINDS and fault.endpoint in _ACTION_READING_ENDPOINTS
