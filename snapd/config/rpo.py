"""The recovery point objective a VM's schedule promises.

The longest gap between two consecutive slots, plus the jitter that may delay the later
one, plus the ``action_timeout`` its snapshot may take: a restore point older than that
means a slot was missed or failed. Exported per VM as ``snapd_policy_rpo_seconds`` so that
one alert rule serves every VM, whatever its schedule.
"""

from __future__ import annotations

from datetime import timedelta

from snapd.config import VirtualMachinePolicy
from snapd.config.cron import parse_cron
from snapd.config.gaps import slot_gaps


def recovery_point_objective(policy: VirtualMachinePolicy) -> timedelta | None:
    """The oldest a restore point may be while the schedule works; None without slots."""
    longest = slot_gaps(parse_cron(policy.schedule)).longest
    if longest is None:
        return None
    return longest + policy.jitter + policy.action_timeout
