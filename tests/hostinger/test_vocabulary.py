"""The client's closed vocabularies are StrEnums whose values never change.

Metric label values and log lines show these values: renaming one would break dashboards
and alerts, so the exact strings are pinned here.
"""

from __future__ import annotations

from snapd.hostinger import RETRY_REASONS, FailureReason, RetryReason


def test_retry_reasons_keep_the_metric_label_values_they_always_had() -> None:
    expected = {"429", "500", "502", "503", "504", "connection", "read", "other"}
    assert {reason.value for reason in RetryReason} == expected
    assert set(RETRY_REASONS) == expected
    assert "503" in RETRY_REASONS and RetryReason("503") is RetryReason.SERVICE_UNAVAILABLE


def test_failure_reasons_keep_the_values_errors_always_carried() -> None:
    expected = {"connection", "certificate", "read", "stopped", "status", "response"}
    assert {reason.value for reason in FailureReason} == expected
    assert FailureReason.READ == "read" and f"{FailureReason.STOPPED}" == "stopped"
