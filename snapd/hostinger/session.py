"""The one ``requests.Session`` of a client: how its requests are prepared and sent.

requests reads the environment (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``,
``CURL_CA_BUNDLE``) again for every request it sends; at fleet size that costs more CPU
than snapd's own work. The session reads it once, here, for the API's base URL, and then
leaves the environment alone: what an operator sets before the start still applies.

The session prepares each request (the token, the headers, the query); the client's own
connections send it (:mod:`snapd.hostinger.connections`), with verified TLS to the CA
bundle and through the proxy found here, and no retries below the client's.
"""

from __future__ import annotations

import os

import requests
from requests.utils import get_environ_proxies

from snapd.hostinger.access import BearerAuth, check_token

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def build_session(base_url: str, token: str, user_agent: str) -> requests.Session:
    """A session for ``base_url`` with the bearer ``token``; raise ``ValueError`` on a bad
    token (see :func:`~snapd.hostinger.access.check_token`)."""
    session = requests.Session()
    session.auth = BearerAuth(check_token(token))
    session.headers.update(
        {"Accept": "application/json", "Content-Type": "application/json", "User-Agent": user_agent}
    )
    # The environment, read once (see the module's docstring).
    session.trust_env = False
    session.proxies = dict(get_environ_proxies(base_url))
    bundles = [os.environ[name] for name in CA_BUNDLE_VARIABLES if os.environ.get(name)]
    session.verify = bundles[0] if bundles else True
    return session
