"""``snapd simulate``: will this policy keep every VM recoverable, faults included?

The real pipeline runs in this process against the embedded fake API on one manual
clock (no token, no network, no real waiting); ``snapd.simulate`` drives the slots and
writes the report. This module builds the fake (only the command line loads it).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from snapd.cli.argument_types import positive_int
from snapd.cli.commands import UsageError

if TYPE_CHECKING:
    from snapd.clock import ManualClock
    from snapd.config import Config
    from snapd.simulate.world import FakeApi

#: Where virtual time starts unless ``--start`` says otherwise: fixed, so that the same
#: seed gives the same report.
DEFAULT_START = "2026-01-05T00:00:00+00:00"
#: How long the fake's actions take, in virtual seconds.
ACTION_SECONDS = 60.0
#: The most VM ids the fake may have to span (it numbers its VMs consecutively).
MOST_VM_ID_SPAN = 100_000
TOKEN = "simulated-token"


def build_api(config: Config, clock: ManualClock, seed: int) -> FakeApi:
    """The fake API with the policy's VMs; the simulation asks it in-process (no socket)."""
    from snapd.fakeapi import FakeHostinger
    from snapd.fakeapi.faults import Fault

    ids = [policy.id for policy in config.vms]
    span = max(ids) - min(ids) + 1
    if span > MOST_VM_ID_SPAN:
        raise UsageError(f"the VM ids span {span}; the simulator handles at most {MOST_VM_ID_SPAN}")

    class SimulatedApi(FakeHostinger):
        def start_outage(self) -> None:
            self.inject(Fault("status", status=503, count=None))

        def end_outage(self) -> None:
            self.remove_fault(Fault("status", status=503, count=None))

        def start_storm(self, status: int, share: float) -> None:
            self.inject(Fault("status", status=status, probability=share))

        def end_storm(self, status: int, share: float) -> None:
            self.remove_fault(Fault("status", status=status, probability=share))

        def start_failed_actions(self, share: float) -> None:
            self.inject(Fault("action_error", "create_snapshot", probability=share))

        def end_failed_actions(self, share: float) -> None:
            self.remove_fault(Fault("action_error", "create_snapshot", probability=share))

    api = SimulatedApi(
        token=TOKEN, vm_count=span, action_seconds=ACTION_SECONDS, seed=seed,
        clock=clock, first_vm_id=min(ids),
    )  # fmt: skip
    return api


def simulate(
    config: Config, *, days: int, seed: int, faults: str, start: datetime
) -> dict[str, Any]:
    """Run the simulation; return the report (plain data). ``UsageError`` for bad faults."""
    from snapd.clock import ManualClock
    from snapd.simulate.driver import Simulation
    from snapd.simulate.faults import load_faults
    from snapd.simulate.report import build_report

    troubles = load_faults(faults, [policy.id for policy in config.vms], days, seed)
    clock = ManualClock(start)
    api = build_api(config, clock, seed)
    simulation = Simulation(config, api, clock, troubles, days, seed)
    history = simulation.run()
    return build_report(history, simulation.invariants, config.api.requests_per_minute)


def _start(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date and time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(arguments: argparse.Namespace) -> int:
    """``snapd simulate``, as parsed: print the report, return 0, 1 or 3."""
    from snapd.config import load_config
    from snapd.logs import configure_logging
    from snapd.simulate.report import exit_code, format_json, format_table

    config = load_config(arguments.config)
    configure_logging(config.log.format, "debug" if arguments.verbose else "error")
    report = simulate(
        config, days=arguments.days, seed=arguments.seed, faults=arguments.faults,
        start=arguments.start,
    )  # fmt: skip
    if arguments.json:
        print(format_json(report))
    else:
        print(format_table(report, config.api.requests_per_minute))
    return exit_code(report)


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd simulate``."""
    parser = commands.add_parser(
        "simulate",
        parents=[config_option],
        help="check on virtual time that a policy keeps every VM recoverable",
        description="Run the real scheduler rules and guarded pipeline for DAYS of virtual "
        "time against the embedded fake API (no token, no network, no waiting), with "
        "seeded faults, and report each VM's worst restore-point age against its RPO, "
        "every interval without a restore point and why, vetoes by guard and API calls. "
        "Exit 0 every RPO met, 1 an RPO missed, 3 an invariant broke (a bug), 2 bad input.",
    )
    parser.add_argument(
        "--days", type=positive_int, default=90, help="how long to simulate (default 90)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="the seed of every random choice (default 1)"
    )
    parser.add_argument(
        "--faults",
        default="none",
        metavar="FILE|PRESET",
        help="a preset (none, typical, harsh) or a YAML file of faults (default none)",
    )
    parser.add_argument(
        "--start", type=_start, default=_start(DEFAULT_START),
        help=f"where virtual time starts, ISO 8601 (default {DEFAULT_START})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(command="simulate")
