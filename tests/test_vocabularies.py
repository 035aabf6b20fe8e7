"""The closed vocabularies of the pipeline and the scheduler keep their values.

The values reach logs (``purpose``, a wait's ``state``), job ids and the ledger's
verdicts; a StrEnum must spell each one exactly as the plain string did.
"""

from __future__ import annotations

from snapd.daemon.scheduler import RunPurpose
from snapd.pipeline.resolve import ResolutionState
from snapd.pipeline.verify import WAIT_VERDICTS
from snapd.pipeline.wait import WaitState


def test_a_wait_ends_in_one_of_seven_states_spelled_as_before() -> None:
    assert [state.value for state in WaitState] == [
        "success", "error", "gone", "timeout", "unauthorized", "stopped", "certificate"
    ]  # fmt: skip


def test_every_wait_state_but_gone_has_a_verdict_and_gone_is_judged_by_the_snapshot() -> None:
    assert set(WAIT_VERDICTS) == set(WaitState) - {WaitState.GONE}


def test_a_resolution_ends_in_one_of_six_states_spelled_as_before() -> None:
    assert [state.value for state in ResolutionState] == [
        "action", "observed", "unresolved", "unauthorized", "stopped", "certificate"
    ]  # fmt: skip


def test_a_run_has_one_of_four_purposes_spelled_as_before() -> None:
    assert [purpose.value for purpose in RunPurpose] == [
        "scheduled", "catch_up", "refresh", "resume"
    ]  # fmt: skip
    assert f"{RunPurpose.CATCH_UP} of 7" == "catch_up of 7"  # the job names
