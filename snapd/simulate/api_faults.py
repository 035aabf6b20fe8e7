"""The faults the fake API itself plays: outages, storms, failed or slow actions, skew.

Each begins and ends on its own (one storm ending leaves an outage that overlaps it
armed); the fake's fault machinery answers the calls, so the client sees the same
answers as from a misbehaving server.
"""

from __future__ import annotations

from snapd.simulate.faults import Trouble, TroubleKind
from snapd.simulate.world import FakeApi

#: The kinds this module plays; the driver plays the others (VMs, holds, the daemon).
API_KINDS = frozenset(
    {
        TroubleKind.OUTAGE,
        TroubleKind.STORM,
        TroubleKind.FAILED_ACTIONS,
        TroubleKind.SLOW_ACTIONS,
        TroubleKind.CLOCK_SKEW,
    }
)


class ApiFaults:
    """Begins and ends the API's troubles on ``api``; its normal ways are read at start."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.normal_action_seconds = api.action_seconds
        self.normal_clock_skew = api.clock_skew

    def play(self, trouble: Trouble, *, begin: bool) -> None:
        """Begin (or end) ``trouble``, one of ``API_KINDS``."""
        api = self.api
        if trouble.kind is TroubleKind.OUTAGE:
            api.start_outage() if begin else api.end_outage()
        elif trouble.kind is TroubleKind.STORM:
            if begin:
                api.start_storm(trouble.status, trouble.share)
            else:
                api.end_storm(trouble.status, trouble.share)
        elif trouble.kind is TroubleKind.FAILED_ACTIONS:
            if begin:
                api.start_failed_actions(trouble.share)
            else:
                api.end_failed_actions(trouble.share)
        elif trouble.kind is TroubleKind.SLOW_ACTIONS:
            api.action_seconds = trouble.seconds if begin else self.normal_action_seconds
        elif trouble.kind is TroubleKind.CLOCK_SKEW:
            api.clock_skew = trouble.seconds if begin else self.normal_clock_skew
