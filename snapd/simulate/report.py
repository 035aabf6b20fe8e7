"""The simulation's report: restore-point ages against the RPO, gaps and why, calls.

``build_report`` gives plain data (what ``--json`` prints); ``format_table`` the
terminal table; ``exit_code`` 0 every RPO met, 1 one missed, 3 an invariant broke.
Ages are measured from each VM's first restore point: before it, nothing was promised.
A gap with no injected fault in it or within one RPO before it (``missed``, ``never
created``) is itself a breach.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from snapd.config.rpo import recovery_point_objective
from snapd.simulate.invariants import Breach, Invariants, Rule
from snapd.simulate.rate import first_minute_over_limit
from snapd.simulate.record import History, Machine

RPO_MISSED = 1
INVARIANT_BROKEN = 3
UNEXPLAINED = ("missed", "never created")
HOUR = timedelta(hours=1)


def _gaps(machine: Machine, end: datetime) -> tuple[list[dict[str, str]], timedelta, timedelta]:
    """The intervals without a restore point within the RPO, the worst age, the time measured."""
    policy = machine.policy
    rpo = recovery_point_objective(policy) or policy.snapshot_lifetime
    usable = min(rpo, policy.snapshot_lifetime)
    points = sorted(set(machine.restore_points))
    if not points:
        return [{"from": "-", "to": "-", "why": "never created"}], timedelta(0), timedelta(0)
    gaps: list[dict[str, str]] = []
    worst = timedelta(0)
    for created, following in zip(points, [*points[1:], end], strict=True):
        worst = max(worst, following - created)
        lost = created + usable
        if lost < following:
            why = _why(machine, created, following, rpo, expired=usable < rpo)
            gaps.append({"from": _iso(lost), "to": _iso(following), "why": why})
    return gaps, worst, end - points[0]


def _why(machine: Machine, start: datetime, end: datetime, rpo: timedelta, *, expired: bool) -> str:
    """The injected faults that overlap the gap, else expiry (lifetime < RPO) or missed.

    A fault counts until one RPO after its end: the schedule recovers from it (a catch-up
    run at a restart makes the next slot's snapshot too young to be replaced, say)."""
    reasons = {why for begin, finish, why in machine.faults if begin < end and finish + rpo > start}
    if reasons:
        return ", ".join(sorted(reasons))
    return "expiry" if expired else "missed"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


def _machine_row(machine: Machine, history: History, invariants: Invariants) -> dict[str, Any]:
    """One VM's line of the report; its unexplained gaps are added to the breaches."""
    gaps, worst, measured = _gaps(machine, history.end)
    dated = [gap for gap in gaps if gap["from"] != "-"]
    missing = sum((_moment(gap["to"]) - _moment(gap["from"]) for gap in dated), timedelta(0))
    for gap in gaps:
        if gap["why"] in UNEXPLAINED:
            moment = history.end if gap["from"] == "-" else _moment(gap["from"])
            invariants.breaches.append(Breach(moment, machine.policy.id, Rule.RPO, gap["why"]))
    rpo = recovery_point_objective(machine.policy)
    days = (history.end - history.start) / timedelta(days=1)
    within = round(100 * (1 - missing / measured), 2) if measured else 0.0
    return {
        "vm": machine.policy.id,
        "name": machine.policy.name,
        "rpo_hours": round(rpo / HOUR, 2) if rpo else None,
        "worst_age_hours": round(worst / HOUR, 2),
        "hours_within_rpo_percent": within,
        "creates_per_day": round(machine.creates / days, 3),
        "vetoes": dict(sorted(machine.vetoes.items())),
        "intervals_without_restore_point": gaps,
    }


def build_report(
    history: History, invariants: Invariants, requests_per_minute: int
) -> dict[str, Any]:
    """Per VM and for the fleet, as plain data; RPO misses outside any fault are breaches.

    ``first_minute_over_rate_limit`` is the first cron minute whose expected calls exceed
    ``requests_per_minute`` (see ``rate``), or "never".
    """
    policies = [machine.policy for machine in history.machines.values()]
    over = first_minute_over_limit(policies, history.start, history.end, requests_per_minute)
    machines = [
        _machine_row(machine, history, invariants)
        for _, machine in sorted(history.machines.items())
    ]
    breaches = sorted(
        invariants.breaches, key=lambda breach: (breach.moment, breach.virtual_machine_id)
    )
    return {
        "days": (history.end - history.start) / timedelta(days=1),
        "virtual_machines": machines,
        "api_calls_per_day_peak": max(history.per_day.values(), default=0),
        "peak_requests_in_one_minute": max(history.per_minute.values(), default=0),
        "first_minute_over_rate_limit": _iso(over) if over is not None else "never",
        "breaches": [
            {
                "moment": _iso(breach.moment),
                "vm": breach.virtual_machine_id,
                "rule": breach.rule.value,
                "detail": breach.detail,
            }
            for breach in breaches
        ],
    }


def exit_code(report: dict[str, Any]) -> int:
    """3 when an invariant broke, else 1 when a VM went without a restore point, else 0."""
    if report["breaches"]:
        return INVARIANT_BROKEN
    if any(row["intervals_without_restore_point"] for row in report["virtual_machines"]):
        return RPO_MISSED
    return 0


def format_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True)


def format_table(report: dict[str, Any], requests_per_minute: int) -> str:
    """The terminal report: one row per VM, then the gaps, the fleet's calls, the breaches."""
    header = ("VM", "RPO h", "WORST h", "WITHIN %", "CREATES/DAY")
    lines = ["{:>10}  {:>7}  {:>8}  {:>8}  {:>11}  VETOES".format(*header)]
    for row in report["virtual_machines"]:
        vetoes = ", ".join(f"{reason}={count}" for reason, count in row["vetoes"].items())
        cells = (row["vm"], row["rpo_hours"] or "-", row["worst_age_hours"])
        lines.append(
            "{:>10}  {:>7}  {:>8}  ".format(*cells)
            + f"{row['hours_within_rpo_percent']:>8}  {row['creates_per_day']:>11}  {vetoes or '-'}"
        )
    for row in report["virtual_machines"]:
        for gap in row["intervals_without_restore_point"]:
            lines.append(
                f"no restore point within the RPO: vm {row['vm']} "
                f"from {gap['from']} to {gap['to']} ({gap['why']})"
            )
    lines.append(
        f"API calls in the busiest day: {report['api_calls_per_day_peak']} "
        f"(budget {requests_per_minute * 1440}); peak in one minute: "
        f"{report['peak_requests_in_one_minute']} (limit {requests_per_minute}); "
        f"first cron minute over the limit: {report['first_minute_over_rate_limit']}"
    )
    for breach in report["breaches"]:
        detail = f" ({breach['detail']})" if breach["detail"] else ""
        lines.append(
            f"INVARIANT BROKEN at {breach['moment']}, vm {breach['vm']}: {breach['rule']}{detail}"
        )
    return "\n".join(lines)
