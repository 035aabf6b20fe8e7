"""A wait that cannot succeed by polling ends at once, with the real cause as its reason.

A refused token or an untrusted TLS certificate will be the same on the next poll: the wait
stops at the first one instead of polling until ``action_timeout``, the action stays
pending (so nothing is created again for it) and the outcome names the cause.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests

import snapd.hostinger.transport
from snapd.fakeapi import Fault
from snapd.hostinger.exchange import Reply
from snapd.pipeline.outcome import OutcomeReason, Result
from tests.conftest import START, Pipeline, make_policy

ACTION_TIMEOUT = timedelta(minutes=30)


def _untrusted_on_action_reads(monkeypatch: pytest.MonkeyPatch, marker: str = "/actions/") -> None:
    """Every request whose URL holds ``marker`` (default: the reads of one action) fails its
    TLS handshake, as behind an intercepting proxy."""
    real: Callable[..., Reply] = snapd.hostinger.transport.exchange

    def exchange(line: Any, request: requests.PreparedRequest, **options: Any) -> Reply:
        if marker in (request.url or ""):
            failure = ssl.SSLCertVerificationError(1, "certificate verify failed")
            failure.verify_message = "self-signed certificate in certificate chain"
            raise failure
        return real(line, request, **options)

    monkeypatch.setattr(snapd.hostinger.transport, "exchange", exchange)


def _run_slot(pipeline: Pipeline) -> Any:
    vm = pipeline.fake.vm_ids[0]
    return pipeline.engine.start_slot(make_policy(vm, action_timeout=ACTION_TIMEOUT), START)


def test_a_token_refused_while_waiting_ends_the_wait_at_the_first_poll(
    pipeline: Pipeline,
) -> None:
    pipeline.fake.inject(Fault(kind="status", endpoint="get_action", status=401, count=None))
    outcome = _run_slot(pipeline).result()
    vm = pipeline.fake.vm_ids[0]
    assert (outcome.result, outcome.reason) == (Result.FAILED, OutcomeReason.AUTHENTICATION_FAILED)
    polls = [r for r in pipeline.fake.requests_matching("GET") if "/actions/" in r.path]
    assert [r.status for r in polls] == [401]
    assert pipeline.clock.now() - START < ACTION_TIMEOUT
    assert pipeline.creates() == 1
    assert pipeline.ledger.pending_for(vm) is not None  # its end is unknown: resumed later


def test_an_untrusted_certificate_while_waiting_ends_the_wait_with_that_cause(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    _untrusted_on_action_reads(monkeypatch)
    outcome = _run_slot(pipeline).result()
    vm = pipeline.fake.vm_ids[0]
    assert (outcome.result, outcome.reason) == (Result.FAILED, OutcomeReason.CERTIFICATE_UNTRUSTED)
    assert "self-signed certificate in certificate chain" in outcome.detail
    assert pipeline.clock.now() - START < ACTION_TIMEOUT
    assert pipeline.creates() == 1
    assert pipeline.ledger.pending_for(vm) is not None
    [record] = pipeline.ledger.history(vm)
    assert (record.outcome, record.reason) == ("failed", "certificate_untrusted")
    again = _run_slot(pipeline).result()  # the next run resumes the wait, never re-creates
    assert again.reason == OutcomeReason.CERTIFICATE_UNTRUSTED
    assert pipeline.creates() == 1


def test_an_untrusted_certificate_while_resolving_a_lost_answer_keeps_the_intent(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.fake.inject(Fault(kind="accept_then_drop", endpoint="create_snapshot"))
    _untrusted_on_action_reads(monkeypatch, "/actions")
    outcome = _run_slot(pipeline).result()
    assert (outcome.result, outcome.reason) == (Result.FAILED, OutcomeReason.CERTIFICATE_UNTRUSTED)
    assert pipeline.clock.now() - START < ACTION_TIMEOUT
    assert pipeline.creates() == 1
    assert pipeline.ledger.pending_for(pipeline.fake.vm_ids[0]) is not None
