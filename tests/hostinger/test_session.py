"""The client's session reads the proxy and CA settings of the environment once, at start:
the same settings requests would use, without reading the environment per request."""

from __future__ import annotations

import pytest

from snapd.hostinger.session import build_session

BASE_URL = "https://developers.hostinger.com"
TOKEN = "session-token-1"
SETTINGS = [
    *(f"{scheme}_PROXY" for scheme in ("HTTPS", "HTTP", "ALL", "NO")),
    *(f"{scheme}_proxy" for scheme in ("https", "http", "all", "no")),
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def test_without_settings_the_session_goes_direct_and_verifies_with_the_default_bundle() -> None:
    session = build_session(BASE_URL, TOKEN, "snapd-test")
    assert session.proxies == {}
    assert session.verify is True
    assert session.trust_env is False  # nothing is read again per request


def test_a_proxy_in_the_environment_at_start_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    session = build_session(BASE_URL, TOKEN, "snapd-test")
    monkeypatch.delenv("HTTPS_PROXY")  # read once: a later change does not matter
    assert session.proxies["https"] == "http://proxy.example:3128"


def test_no_proxy_naming_the_api_host_keeps_the_session_direct(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".hostinger.com")
    assert build_session(BASE_URL, TOKEN, "snapd-test").proxies == {}


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_named_in_the_environment_verifies_the_api(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "/etc/ssl/private-ca.pem")
    assert build_session(BASE_URL, TOKEN, "snapd-test").verify == "/etc/ssl/private-ca.pem"
