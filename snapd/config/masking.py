"""Hiding the secrets a URL can carry before it is shown: the one place for it.

A health-check URL may hold credentials (``https://monitor:pass@host/``) or an API key in
its query (``?key=...``). ``config show``, log lines and hook results print URLs through
``mask_url`` so that none of that reaches a terminal, a journal or a log collector. A
notification URL is a secret as a whole (its path is the key): ``public_url`` keeps only
its scheme and host.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

MASK = "***"


def mask_url(url: str, *, keep_user: bool = False) -> str:
    """``url`` with its user, password, query values and fragment replaced by ``***``.

    Scheme, host, port and path are kept, as they say which service is meant:
    ``https://user:pass@host:8443/healthz?key=abc&probe`` becomes
    ``https://***:***@host:8443/healthz?key=***&***``. ``keep_user`` keeps a user that
    comes without a password (a database DSN's: its errors name the user anyway). Never
    raises: a URL that cannot be split (``http://[fd00::1/x?key=a``) is masked by plain
    text rules, more coarsely.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return _mask_roughly(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            netloc = f"{MASK}:{MASK}@{host}"
        elif not keep_user:
            netloc = f"{MASK}@{host}"
    query = "&".join(_mask_parameter(parameter) for parameter in parts.query.split("&"))
    fragment = MASK if parts.fragment else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def _mask_parameter(parameter: str) -> str:
    """``key=value`` keeps its key; a bare ``value`` (``?abc123``) is all secret."""
    if not parameter:
        return parameter
    name, separator, _ = parameter.partition("=")
    return f"{name}={MASK}" if separator else MASK


def _mask_roughly(url: str) -> str:
    """Everything up to the authority's last ``@`` and everything from ``?`` or ``#`` on
    is masked: what is left names a host and a path, and no secret."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    rest, fragment_mark, _ = rest.partition("#")
    rest, query_mark, _ = rest.partition("?")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    query = f"?{MASK}" if query_mark else ""
    fragment = f"#{MASK}" if fragment_mark else ""
    return f"{scheme}{separator}{authority}{slash}{path}{query}{fragment}"


def public_url(url: str) -> str:
    """Only the scheme and host of ``url`` (with its port): safe for logs and displays."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme or '?'}://{host}"
