"""An embedded fake of the Hostinger VPS API, for tests and demonstrations.

Standard library only. See ``FakeHostinger`` for the behaviour, ``Fault`` for fault
injection and ``RecordedRequest`` for the request log; ``python -m snapd.fakeapi`` runs
it as a standalone server. The names below load on first use, so that importing the
command's grammar (``snapd.fakeapi.grammar``) does not load the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snapd.fakeapi.fake import FakeHostinger
    from snapd.fakeapi.faults import Fault
    from snapd.fakeapi.faultspec import parse_fault
    from snapd.fakeapi.requestlog import RecordedRequest

__all__ = ["FakeHostinger", "Fault", "RecordedRequest", "parse_fault"]

_HOMES = {
    "FakeHostinger": "snapd.fakeapi.fake",
    "Fault": "snapd.fakeapi.faults",
    "RecordedRequest": "snapd.fakeapi.requestlog",
    "parse_fault": "snapd.fakeapi.faultspec",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
