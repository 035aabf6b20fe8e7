"""Which endpoint a method and path name, with the ids taken from the path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from snapd.fakeapi.errors import FakeApiError
from snapd.fakeapi.registry import ENDPOINTS

API_PREFIX = "/api/vps/v1"


@dataclass(frozen=True)
class Route:
    """A resolved call: the endpoint name and the integer ids in the path."""

    endpoint: str
    virtual_machine_id: int | None = None
    item_id: int | None = None


def _table() -> tuple[tuple[re.Pattern[str], dict[str, str]], ...]:
    """Path pattern -> {method: endpoint}, in the registry's order."""
    by_path: dict[str, dict[str, str]] = {}
    for endpoint in ENDPOINTS:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint.name
    return tuple(
        (re.compile(API_PREFIX + path + "$"), methods) for path, methods in by_path.items()
    )


# Ids must be digits: anything else is an unknown path.
_TABLE = _table()


def resolve(method: str, path: str) -> Route:
    """Resolve ``method`` and ``path`` (no query string).

    ``FakeApiError`` 404 for an unknown path (including non-integer ids) and 405, with an
    ``Allow`` header, for a known path and another method. Purchasing a VM
    (``POST /virtual-machines``) is not part of the fake and answers 405.
    """
    for pattern, methods in _TABLE:
        found = pattern.match(path)
        if found is None:
            continue
        endpoint = methods.get(method)
        if endpoint is None:
            allowed = ", ".join(methods)
            raise FakeApiError(
                405,
                f"The {method} method is not supported for route {path.lstrip('/')}. "
                f"Supported methods: {allowed}.",
                headers={"Allow": allowed},
            )
        ids = [int(group) for group in found.groups()]
        return Route(
            endpoint,
            virtual_machine_id=ids[0] if ids else None,
            item_id=ids[1] if len(ids) > 1 else None,
        )
    raise FakeApiError(404, f"The route {path.lstrip('/')} could not be found.")
