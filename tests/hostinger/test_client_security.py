"""The token stays secret, TLS stays on, and requests carry the right headers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from snapd import __version__
from snapd.fakeapi import Fault
from snapd.hostinger import (
    AmbiguousRequestError,
    ApiError,
    ConnectionFailedError,
    HostingerClient,
    InvalidResponseError,
)
from snapd.hostinger.budget import RequestBudget
from tests.support.client import (
    TOKEN,
    LocalServer,
    Scripted,
    all_logs_captured,
    assert_no_token,
    expect_error,
    make_client,
    running_fake,
)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://developers.hostinger.com",
        "http://10.0.0.5:8080",
        "http://192.168.1.10",
        "http://[2001:db8::1]:80",
        "http://localhost.example.com",
    ],
)
def test_plain_http_to_a_host_that_is_not_loopback_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="https://") as caught:
        HostingerClient(base_url=base_url, token=TOKEN, budget=RequestBudget(60))
    assert_no_token(str(caught.value))


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8080",
        "http://127.5.6.7",
        "http://localhost:9000/",
        "http://[::1]:8080",
        "https://developers.hostinger.com",
        "https://api.example.com/prefix/",
    ],
)
def test_https_anywhere_and_plain_http_to_loopback_are_accepted(base_url: str) -> None:
    with HostingerClient(base_url=base_url, token=TOKEN, budget=RequestBudget(60)) as client:
        assert client.base_url == base_url.rstrip("/")


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://developers.hostinger.com",
        "developers.hostinger.com",
        "https://user:secret@developers.hostinger.com",
        "https://developers.hostinger.com/?page=1",
        "https://",
    ],
)
def test_malformed_base_urls_are_refused(base_url: str) -> None:
    with pytest.raises(ValueError):
        HostingerClient(base_url=base_url, token=TOKEN, budget=RequestBudget(60))


@pytest.mark.parametrize("token", ["", "two words", TOKEN + "\n", TOKEN + "\r\nX-Evil: 1"])
def test_an_unusable_token_is_refused_without_repeating_it(token: str) -> None:
    with pytest.raises(ValueError) as caught:
        HostingerClient(
            base_url="https://developers.hostinger.com", token=token, budget=RequestBudget(60)
        )
    assert_no_token(str(caught.value), repr(caught.value))


def test_the_client_repr_does_not_show_the_token() -> None:
    with HostingerClient(token=TOKEN, budget=RequestBudget(60)) as client:
        assert_no_token(repr(client), str(client), repr(vars(client)))
        assert "developers.hostinger.com" in repr(client)


def test_requests_carry_bearer_token_json_accept_and_the_snapd_user_agent() -> None:
    with LocalServer(Scripted(body=[])) as server, make_client(server.base_url) as client:
        client.list_virtual_machines()

    [(method, path, headers)] = server.received
    assert (method, path) == ("GET", "/api/vps/v1/virtual-machines")
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"snapd/{__version__}"


def test_a_custom_user_agent_replaces_the_default() -> None:
    with (
        LocalServer(Scripted(body=[])) as server,
        make_client(server.base_url, user_agent="snapd-test/1") as client,
    ):
        client.list_virtual_machines()

    assert server.received[0][2]["User-Agent"] == "snapd-test/1"


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else() -> None:
    redirect = Scripted(status=302, body={}, headers={"Location": "https://elsewhere.example/"})
    with LocalServer(redirect) as server, make_client(server.base_url) as client:
        error = expect_error(ApiError, client.list_virtual_machines)

    assert error.status == 302
    assert len(server.received) == 1


def test_the_token_is_in_no_error_and_no_log_line_whatever_goes_wrong(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with all_logs_captured() as captured, running_fake() as fake:
        machine_id = fake.vm_ids[0]
        with make_client(fake.base_url, timeout=0.3, retry_total_seconds=0.5) as client:
            fake.inject(Fault(kind="accept_then_drop", endpoint="create_snapshot"))
            expect_error(AmbiguousRequestError, lambda: client.create_snapshot(machine_id))
            fake.inject(Fault(kind="latency", endpoint="create_snapshot", seconds=0.6))
            expect_error(AmbiguousRequestError, lambda: client.create_snapshot(machine_id))
            fake.inject(Fault(kind="malformed_json", endpoint="list_vms"))
            expect_error(InvalidResponseError, client.list_virtual_machines)
            fake.inject(Fault(kind="status", endpoint="get_vm", count=None, status=500))
            expect_error(ApiError, lambda: client.get_virtual_machine(machine_id))
        with make_client(fake.base_url, token=TOKEN + "x") as wrong:
            expect_error(ApiError, wrong.list_virtual_machines)
        base_url = fake.base_url
        fake.stop()
        with make_client(base_url) as client:
            expect_error(ConnectionFailedError, lambda: client.create_snapshot(machine_id))

    assert captured, "the client logged nothing"
    assert_no_token(repr(captured), caplog.text)


@pytest.fixture(autouse=True)
def no_token_in_structlog() -> Iterator[None]:
    with all_logs_captured() as captured:
        yield
    assert_no_token(repr(captured))
