"""The fake never closes a kept-alive connection a client may reuse without saying so.

An answer after which the fake closes the connection must carry ``Connection: close``:
otherwise a client puts the connection back in its pool, and the next request on it meets
a closed socket (``RemoteDisconnected``), depending only on which side is faster.
"""

from __future__ import annotations

import http.client
import socket

import pytest

from snapd.fakeapi import FakeHostinger, Fault
from tests.support.fakeapi import PREFIX, TOKEN
from tests.support.fakeapi import action_seconds as action_seconds
from tests.support.fakeapi import clock_start as clock_start
from tests.support.fakeapi import fake_settings as fake_settings

_HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _connect(fake: FakeHostinger) -> http.client.HTTPConnection:
    host, port = fake.base_url.removeprefix("http://").rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=5)


def _wait_until_the_fake_is_done_with(connection: http.client.HTTPConnection) -> None:
    """Block until the fake closed its side, if the client kept the connection open.

    This makes the race deterministic: the fake has always won it when this returns.
    """
    if connection.sock is not None:
        assert connection.sock.recv(1, socket.MSG_PEEK) == b""


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="trickle_body", endpoint="list_vms", seconds=0.0),
        Fault(kind="trickle", endpoint="list_vms", seconds=0.0),
        Fault(kind="huge_body", endpoint="list_vms", size=1001),
    ],
    ids=["trickle_body", "trickle", "huge_body"],
)
def test_a_client_reusing_the_connection_after_an_answer_the_fake_closes_is_not_cut_off(
    fake: FakeHostinger, fault: Fault
) -> None:
    fake.inject(fault)
    connection = _connect(fake)
    try:
        connection.request("GET", PREFIX, headers=_HEADERS)
        first = connection.getresponse()
        first.read()
        assert first.getheader("Connection") == "close"
        _wait_until_the_fake_is_done_with(connection)

        connection.request("GET", PREFIX, headers=_HEADERS)
        second = connection.getresponse()
        second.read()
    finally:
        connection.close()
    assert (first.status, second.status) == (200, 200)
    assert fake.count("GET", PREFIX) == 2


def test_an_ordinary_answer_keeps_the_connection_alive(fake: FakeHostinger) -> None:
    connection = _connect(fake)
    try:
        connection.request("GET", PREFIX, headers=_HEADERS)
        first = connection.getresponse()
        first.read()
        kept = connection.sock
        connection.request("GET", PREFIX, headers=_HEADERS)
        connection.getresponse().read()
    finally:
        connection.close()
    assert first.getheader("Connection") is None
    assert kept is not None
