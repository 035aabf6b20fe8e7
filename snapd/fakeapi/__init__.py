"""An embedded fake of the Hostinger VPS API, for tests and demonstrations.

Standard library only. See ``FakeHostinger`` for the behaviour, ``Fault`` for fault
injection and ``RecordedRequest`` for the request log; ``python -m snapd.fakeapi`` runs
it as a standalone server.
"""

from __future__ import annotations

from snapd.fakeapi.fake import FakeHostinger
from snapd.fakeapi.faults import Fault
from snapd.fakeapi.faultspec import parse_fault
from snapd.fakeapi.requestlog import RecordedRequest

__all__ = ["FakeHostinger", "Fault", "RecordedRequest", "parse_fault"]
