"""Several Hostinger accounts behind one fake API: one token each, their own VMs, their own
rate window, request log and faults, as the real API keeps them apart by token.

``FakeAccounts`` builds one :class:`~snapd.fakeapi.fake.FakeHostinger` per account and serves
them all on the first one's port; :class:`AccountRouter` hands each request to the account
whose token it bears. A request with an unknown token goes to the first account, which
answers 401 and logs it. A revoked token (``revoke``) still reaches its own account, which
then answers 401 as it would to a token the API no longer knows.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

from snapd.clock import Clock
from snapd.fakeapi.dispatch import FakeResponse
from snapd.fakeapi.fake import FakeHostinger


@dataclass(frozen=True)
class FakeAccount:
    """One account of the fake: its token, its VMs, its limit (None: no limit; a sliding
    window of ``requests_per_minute``, or ``fixed_window`` as ``FakeHostinger`` has it)."""

    name: str
    token: str
    vm_count: int = 3
    first_vm_id: int = 1268054
    requests_per_minute: int | None = None
    fixed_window: tuple[int, float] | None = None


class AccountRouter:
    """Hands each request to the fake of the account whose bearer token it carries."""

    def __init__(self, fakes: Mapping[str, FakeHostinger]) -> None:
        self._by_token = {fake.token: fake for fake in fakes.values()}
        self._first = next(iter(fakes.values()))
        self._revoked: set[str] = set()
        self._lock = threading.Lock()

    def revoke(self, token: str) -> None:
        """From now on the API refuses ``token`` (401), in its own account's log."""
        with self._lock:
            self._revoked.add(token)

    def dispatch(self, method: str, target: str, authorization: str | None) -> FakeResponse:
        """Answer one request as the account of its token (unknown: the first account)."""
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else ""
        fake = self._by_token.get(token)
        if fake is None:
            return self._first.dispatcher.dispatch(method, target, authorization)
        with self._lock:
            revoked = token in self._revoked
        return fake.dispatcher.dispatch(method, target, None if revoked else authorization)


class FakeAccounts:
    """The fakes of ``accounts`` (at least one) on one port; a context manager like the fake.

    ``fakes[name]`` is an account's fake: its VMs, request log, faults and rate window.
    Each fake follows ``clock`` and takes ``action_seconds`` per action.
    """

    def __init__(
        self,
        accounts: list[FakeAccount],
        *,
        clock: Clock | None = None,
        action_seconds: float = 2.0,
    ) -> None:
        if not accounts:
            raise ValueError("the fake needs at least one account")
        self.fakes = {
            account.name: FakeHostinger(
                token=account.token,
                vm_count=account.vm_count,
                first_vm_id=account.first_vm_id,
                requests_per_minute=account.requests_per_minute,
                fixed_window=account.fixed_window,
                action_seconds=action_seconds,
                clock=clock,
                seed=index,
            )
            for index, account in enumerate(accounts)
        }
        self.router = AccountRouter(self.fakes)
        self._serving = self.fakes[accounts[0].name]
        self._serving.answerer = self.router

    def __getitem__(self, name: str) -> FakeHostinger:
        return self.fakes[name]

    @property
    def base_url(self) -> str:
        """The one address of every account."""
        return self._serving.base_url

    def revoke(self, name: str) -> None:
        """Revoke the token of the account ``name``: its requests get 401 from now on."""
        self.router.revoke(self.fakes[name].token)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._serving.start(host, port)

    def stop(self) -> None:
        self._serving.stop()

    def __enter__(self) -> FakeAccounts:
        self.start()
        return self

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
