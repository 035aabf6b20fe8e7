"""Where the token may go: the base URL check, the token check and the auth hook."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
import requests.auth

from snapd.config.addresses import is_loopback

__all__ = ["BearerAuth", "check_base_url", "check_token"]


class BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header; given as ``auth`` so requests never consults ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


def check_base_url(base_url: str) -> str:
    """Validate the API base URL and return it without a trailing slash.

    ``https://`` is always accepted; ``http://`` only for loopback hosts (``localhost``,
    127.0.0.0/8, ``::1``), which is where the embedded fake API listens.

    Raises:
        ValueError: another scheme, no host, credentials, a query or fragment in the URL,
            or plain http to a host that is not loopback.
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"API base URL must be https://host[/path], got {base_url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("API base URL must not carry credentials, a query or a fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            f"API base URL {base_url!r} uses plain http to a host that is not loopback; "
            "the token would cross the network unencrypted. Use https://."
        )
    return base_url.strip().rstrip("/")


def check_token(token: str) -> str:
    # requests quotes an invalid header value in its exception text, so reject such a
    # token here with a message that does not contain it.
    if not token or not token.isprintable() or any(ch.isspace() for ch in token):
        raise ValueError("API token is empty or contains whitespace or control characters")
    return token
