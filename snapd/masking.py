"""Hiding the secrets a URL can carry before it is shown: one function, used everywhere.

A health-check URL may hold credentials (``https://monitor:pass@host/``) or an API key in
its query (``?key=...``). ``config show``, log lines and hook results print URLs through
``mask_url`` so that none of that reaches a terminal, a journal or a log collector.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with its user, password, query values and fragment replaced by ``***``.

    Scheme, host, port and path are kept, as they say which service is meant:
    ``https://user:pass@host:8443/healthz?key=abc&probe`` becomes
    ``https://***:***@host:8443/healthz?key=***&***``. Never raises: a URL that cannot be
    split is replaced whole, since it cannot be told which part is secret.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{MASK}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = "&".join(_mask_parameter(parameter) for parameter in parts.query.split("&"))
    fragment = MASK if parts.fragment else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def _mask_parameter(parameter: str) -> str:
    """``key=value`` keeps its key; a bare ``value`` (``?abc123``) is all secret."""
    if not parameter:
        return parameter
    name, separator, _ = parameter.partition("=")
    return f"{name}={MASK}" if separator else MASK
