"""The metrics contract: names, labels, values, and the HTTP endpoint that serves them."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from snapd import __version__
from snapd.hostinger.endpoints import ENDPOINTS
from snapd.hostinger.observer import ApiObserver
from snapd.metrics import Metrics, MetricsServer, MetricsServerError
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import Outcome, OutcomeObserver, Result, SnapshotState

VM = 1268054
OTHER_VM = 1268055
START = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
CREATED = START + timedelta(minutes=1)
NEW_SNAPSHOT = SnapshotState(id=77, created_at=CREATED, expires_at=CREATED + timedelta(days=20))
SNAPSHOT_PATH = ENDPOINTS["get_snapshot"]

#: Every family of the contract, as the exposition names them (counters without _total).
CONTRACT = {
    "snapd_snapshot_attempts": "counter",
    "snapd_snapshot_skips": "counter",
    "snapd_snapshot_last_success_timestamp_seconds": "gauge",
    "snapd_snapshot_created_timestamp_seconds": "gauge",
    "snapd_snapshot_expiry_timestamp_seconds": "gauge",
    "snapd_snapshot_duration_seconds": "histogram",
    "snapd_next_run_timestamp_seconds": "gauge",
    "snapd_backup_newest_timestamp_seconds": "gauge",
    "snapd_hold_active": "gauge",
    "snapd_api_requests": "counter",
    "snapd_api_request_duration_seconds": "histogram",
    "snapd_api_retries": "counter",
    "snapd_config_last_reload_successful": "gauge",
    "snapd_config_last_reload_success_timestamp_seconds": "gauge",
    "snapd_build_info": "gauge",
    "snapd_api_authentication_ok": "gauge",
    "snapd_snapshot_present": "gauge",
    "snapd_policy_rpo_seconds": "gauge",
    "snapd_snapshot_last_duration_seconds": "gauge",
}


def outcome(result: Result, **changes: object) -> Outcome:
    base = Outcome(
        virtual_machine_id=VM,
        kind="snapshot",
        slot=START,
        result=result,
        reason="created",
        detail="",
        started_at=START,
        finished_at=START + timedelta(minutes=4),
        action_id=501,
        new_snapshot=NEW_SNAPSHOT if result is Result.SUCCESS else None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(registry)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def attempts(registry: CollectorRegistry, result: str, vm: int = VM) -> float | None:
    return value(registry, "snapd_snapshot_attempts_total", vm=str(vm), result=result)


def series_for(registry: CollectorRegistry, vm: int) -> list[str]:
    return [
        sample.name
        for family in registry.collect()
        for sample in family.samples
        if sample.labels.get("vm") == str(vm)
    ]


# -- outcomes --------------------------------------------------------------------------


def test_a_successful_outcome_sets_the_last_success_timestamp(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.SUCCESS))

    finished = (START + timedelta(minutes=4)).timestamp()
    assert attempts(registry, "success") == 1
    assert value(registry, "snapd_snapshot_last_success_timestamp_seconds", vm=str(VM)) == finished


def test_a_successful_outcome_exports_the_new_snapshot_and_its_duration(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.SUCCESS))

    vm = str(VM)
    assert value(registry, "snapd_snapshot_created_timestamp_seconds", vm=vm) == (
        CREATED.timestamp()
    )
    assert value(registry, "snapd_snapshot_expiry_timestamp_seconds", vm=vm) == (
        (CREATED + timedelta(days=20)).timestamp()
    )
    assert value(registry, "snapd_snapshot_present", vm=vm) == 1
    assert value(registry, "snapd_snapshot_last_duration_seconds", vm=vm) == 240
    assert value(registry, "snapd_snapshot_duration_seconds_count") == 1
    assert value(registry, "snapd_snapshot_duration_seconds_sum") == 240
    assert value(registry, "snapd_snapshot_duration_seconds_bucket", le="300.0") == 1
    assert value(registry, "snapd_snapshot_duration_seconds_bucket", le="120.0") == 0


@pytest.mark.parametrize("result", [Result.FAILED, Result.UNVERIFIED, Result.TIMEOUT])
def test_a_failed_attempt_is_counted_under_its_result_and_leaves_last_success_alone(
    metrics: Metrics, registry: CollectorRegistry, result: Result
) -> None:
    metrics.outcome(outcome(result, reason="action_error"))

    assert attempts(registry, result.value) == 1
    assert attempts(registry, "success") is None
    assert value(registry, "snapd_snapshot_last_success_timestamp_seconds", vm=str(VM)) is None
    assert value(registry, "snapd_snapshot_last_duration_seconds", vm=str(VM)) is None
    assert value(registry, "snapd_snapshot_duration_seconds_count") == 0


def test_a_failure_before_anything_was_sent_counts_as_a_failed_attempt(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.FAILED, action_id=None, reason="authentication_failed"))

    assert attempts(registry, "failed") == 1


def test_a_skip_is_counted_under_its_reason_and_not_as_an_attempt(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.SKIPPED, action_id=None, reason=Reason.HELD.value))
    metrics.outcome(outcome(Result.SKIPPED, action_id=None, reason=Reason.HELD.value))

    assert value(registry, "snapd_snapshot_skips_total", vm=str(VM), reason="held") == 2
    assert all(attempts(registry, result) is None for result in ("success", "failed"))


def test_a_skip_with_an_unknown_reason_is_counted_as_other(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.SKIPPED, action_id=None, reason="VM said: no (id 42)"))

    assert value(registry, "snapd_snapshot_skips_total", vm=str(VM), reason="other") == 1


@pytest.mark.parametrize(
    "finished",
    [
        outcome(Result.DRY_RUN, action_id=None, reason=Reason.DRY_RUN.value, dry_run=True),
        outcome(Result.SKIPPED, action_id=None, reason=Reason.HELD.value, dry_run=True),
        outcome(Result.FAILED, action_id=None, reason="api_error", dry_run=True),
        outcome(Result.INTERRUPTED, reason="interrupted"),
    ],
    ids=["dry-run decision", "dry-run skip", "dry-run failure", "interrupted"],
)
def test_dry_runs_and_interruptions_count_neither_as_attempts_nor_as_skips(
    metrics: Metrics, registry: CollectorRegistry, finished: Outcome
) -> None:
    metrics.register_vms([VM])

    metrics.outcome(finished)

    families = {family.name: family for family in registry.collect()}
    counters = (
        families["snapd_snapshot_attempts"].samples + families["snapd_snapshot_skips"].samples
    )
    assert counters == []


def test_restore_and_delete_outcomes_are_not_snapshot_attempts_but_update_the_snapshot(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.SUCCESS))

    metrics.outcome(outcome(Result.SUCCESS, kind="delete", new_snapshot=None))

    assert attempts(registry, "success") == 1
    assert value(registry, "snapd_snapshot_present", vm=str(VM)) == 0
    assert value(registry, "snapd_snapshot_created_timestamp_seconds", vm=str(VM)) is None


def test_the_last_success_timestamp_never_moves_backwards(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.SUCCESS))
    earlier = START - timedelta(days=1)

    metrics.restore_last_successes({VM: earlier, OTHER_VM: earlier})

    last_success = "snapd_snapshot_last_success_timestamp_seconds"
    assert value(registry, last_success, vm=str(VM)) == (START + timedelta(minutes=4)).timestamp()
    assert value(registry, last_success, vm=str(OTHER_VM)) == earlier.timestamp()


# -- snapshots, schedule, holds, backups -----------------------------------------------


def test_a_vm_without_a_snapshot_has_no_created_or_expiry_series(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.snapshot_seen(VM, NEW_SNAPSHOT)

    metrics.snapshot_seen(VM, None)

    vm = str(VM)
    assert value(registry, "snapd_snapshot_present", vm=vm) == 0
    assert value(registry, "snapd_snapshot_created_timestamp_seconds", vm=vm) is None
    assert value(registry, "snapd_snapshot_expiry_timestamp_seconds", vm=vm) is None


def test_a_snapshot_without_an_expiry_exports_only_its_creation(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.snapshot_seen(VM, SnapshotState(id=5, created_at=CREATED, expires_at=None))

    vm = str(VM)
    assert value(registry, "snapd_snapshot_present", vm=vm) == 1
    assert value(registry, "snapd_snapshot_created_timestamp_seconds", vm=vm) == (
        CREATED.timestamp()
    )
    assert value(registry, "snapd_snapshot_expiry_timestamp_seconds", vm=vm) is None


def test_next_run_and_newest_backup_are_timestamps_removed_by_none(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.set_next_run(VM, START)
    metrics.set_backup_newest(VM, CREATED)
    vm = str(VM)
    assert value(registry, "snapd_next_run_timestamp_seconds", vm=vm) == START.timestamp()
    assert value(registry, "snapd_backup_newest_timestamp_seconds", vm=vm) == CREATED.timestamp()

    metrics.set_next_run(VM, None)
    metrics.set_backup_newest(VM, None)

    assert value(registry, "snapd_next_run_timestamp_seconds", vm=vm) is None
    assert value(registry, "snapd_backup_newest_timestamp_seconds", vm=vm) is None


def test_a_hold_is_one_while_active_and_zero_after(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.set_hold(VM, True)
    assert value(registry, "snapd_hold_active", vm=str(VM)) == 1

    metrics.set_hold(VM, False)

    assert value(registry, "snapd_hold_active", vm=str(VM)) == 0


def test_registering_vms_exports_an_inactive_hold_and_no_counters_before_their_first_use(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.register_vms([VM, OTHER_VM])

    for vm in (VM, OTHER_VM):
        assert series_for(registry, vm) == ["snapd_hold_active"]
        assert value(registry, "snapd_hold_active", vm=str(vm)) == 0
    metrics.set_hold(VM, True)
    metrics.register_vms([VM])
    assert value(registry, "snapd_hold_active", vm=str(VM)) == 1  # registering again keeps it


def test_forgetting_vms_removes_every_series_of_the_dropped_vms_only(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.register_vms([VM, OTHER_VM])
    for vm in (VM, OTHER_VM):
        metrics.outcome(outcome(Result.SUCCESS, virtual_machine_id=vm))
        metrics.outcome(outcome(Result.SKIPPED, virtual_machine_id=vm, reason="other"))
        metrics.set_next_run(vm, START)
        metrics.set_backup_newest(vm, START)
        metrics.set_hold(vm, True)
    kept_before = series_for(registry, VM)

    metrics.forget_vms({VM})

    assert series_for(registry, OTHER_VM) == []
    assert series_for(registry, VM) == kept_before
    metrics.register_vms([OTHER_VM])
    assert attempts(registry, "success", OTHER_VM) is None
    assert value(registry, "snapd_hold_active", vm=str(OTHER_VM)) == 0


# -- the API observer ------------------------------------------------------------------


def test_api_requests_are_counted_by_method_template_and_code(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.request_finished("get", SNAPSHOT_PATH, "200", 0.3)
    metrics.request_finished("GET", SNAPSHOT_PATH, "error", 30.0)
    metrics.request_retried(SNAPSHOT_PATH, "503")

    labels = {"method": "GET", "endpoint": SNAPSHOT_PATH}
    assert value(registry, "snapd_api_requests_total", code="200", **labels) == 1
    assert value(registry, "snapd_api_requests_total", code="error", **labels) == 1
    duration = "snapd_api_request_duration_seconds"
    assert value(registry, f"{duration}_count", endpoint=SNAPSHOT_PATH) == 2
    assert value(registry, f"{duration}_bucket", endpoint=SNAPSHOT_PATH, le="0.5") == 1
    assert value(registry, "snapd_api_retries_total", endpoint=SNAPSHOT_PATH, reason="503") == 1


def test_raw_urls_and_odd_codes_never_become_label_values(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.request_finished("GET", "/api/vps/v1/virtual-machines/1268054", "timed out", 1.0)
    metrics.request_retried("https://developers.hostinger.com/x", "socket exploded")

    assert (
        value(registry, "snapd_api_requests_total", method="GET", endpoint="other", code="other")
        == 1
    )
    assert value(registry, "snapd_api_retries_total", endpoint="other", reason="other") == 1


def test_authentication_is_ok_until_refused_and_again_after_a_successful_request(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    assert metrics.authentication_ok
    assert value(registry, "snapd_api_authentication_ok") == 1

    metrics.api_unauthorized()
    assert not metrics.authentication_ok
    assert value(registry, "snapd_api_authentication_ok") == 0

    metrics.request_finished("GET", SNAPSHOT_PATH, "503", 0.1)
    assert not metrics.authentication_ok
    metrics.request_finished("GET", SNAPSHOT_PATH, "204", 0.1)
    assert metrics.authentication_ok
    assert value(registry, "snapd_api_authentication_ok") == 1


def test_a_401_answer_marks_authentication_as_failed(metrics: Metrics) -> None:
    metrics.request_finished("POST", ENDPOINTS["create_snapshot"], "401", 0.1)

    assert not metrics.authentication_ok


# -- configuration and build -----------------------------------------------------------


def test_a_failed_reload_keeps_the_last_success_timestamp(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.config_reloaded(True, START)
    metrics.config_reloaded(False, START + timedelta(hours=1))

    assert value(registry, "snapd_config_last_reload_successful") == 0
    assert value(registry, "snapd_config_last_reload_success_timestamp_seconds") == (
        START.timestamp()
    )

    metrics.config_reloaded(True, START + timedelta(hours=2))
    assert value(registry, "snapd_config_last_reload_successful") == 1


def test_build_info_carries_the_version(metrics: Metrics, registry: CollectorRegistry) -> None:
    assert value(registry, "snapd_build_info", version=__version__) == 1


# -- the exposition --------------------------------------------------------------------


def test_every_contract_family_is_exposed_with_its_type_and_labels(metrics: Metrics) -> None:
    metrics.register_vms([VM])
    metrics.outcome(outcome(Result.SUCCESS))
    metrics.outcome(outcome(Result.SKIPPED, reason=Reason.SNAPSHOT_TOO_YOUNG.value))
    metrics.set_next_run(VM, START + timedelta(days=1))
    metrics.set_backup_newest(VM, START - timedelta(days=2))
    metrics.request_finished("GET", SNAPSHOT_PATH, "200", 0.2)
    metrics.request_retried(SNAPSHOT_PATH, "429")
    metrics.config_reloaded(True, START)

    families = {
        family.name: family
        for family in text_string_to_metric_families(metrics.exposition().decode())
    }

    assert {name: families[name].type for name in CONTRACT if name in families} == CONTRACT
    assert {
        label for sample in families["snapd_snapshot_attempts"].samples for label in sample.labels
    } == {"vm", "result"}
    assert {
        label
        for sample in families["snapd_snapshot_duration_seconds"].samples
        for label in sample.labels
    } == {"le"}
    assert set(families["snapd_api_requests"].samples[0].labels) == {"method", "endpoint", "code"}
    assert set(families["snapd_api_retries"].samples[0].labels) == {"endpoint", "reason"}


def test_the_snapshot_duration_buckets_reach_one_hour(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.SUCCESS, finished_at=START + timedelta(minutes=50)))

    bucket = "snapd_snapshot_duration_seconds_bucket"
    assert value(registry, bucket, le="2700.0") == 0
    assert value(registry, bucket, le="3600.0") == 1
    assert value(registry, bucket, le="+Inf") == 1


def test_metrics_observe_both_outcomes_and_api_attempts(metrics: Metrics) -> None:
    # The annotations are the assertion: mypy checks both protocols here.
    observers: tuple[OutcomeObserver, ApiObserver] = (metrics, metrics)

    assert all(observer is metrics for observer in observers)


def test_a_fresh_registry_is_created_when_none_is_given() -> None:
    first, second = Metrics(), Metrics()

    assert first.registry is not second.registry


# -- the HTTP endpoint -----------------------------------------------------------------


class Readiness:
    def __init__(self) -> None:
        self.answer = (True, "")

    def __call__(self) -> tuple[bool, str]:
        return self.answer


@pytest.fixture
def readiness() -> Readiness:
    return Readiness()


@pytest.fixture
def server(metrics: Metrics, readiness: Readiness) -> Iterator[MetricsServer]:
    server = MetricsServer(metrics, "127.0.0.1", 0, readiness)
    server.start()
    yield server
    server.stop()


def fetch(url: str, method: str = "GET") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read()


def test_the_server_exposes_the_metrics_in_the_prometheus_text_format(
    server: MetricsServer, metrics: Metrics
) -> None:
    metrics.outcome(outcome(Result.SUCCESS))

    status, content_type, body = fetch(server.url + "/metrics")

    assert status == 200
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert f'snapd_snapshot_attempts_total{{result="success",vm="{VM}"}} 1.0' in body.decode()


def test_liveness_answers_ok(server: MetricsServer) -> None:
    assert fetch(server.url + "/healthz") == (200, "text/plain; charset=utf-8", b"ok\n")


def test_readiness_answers_503_with_the_reason_until_ready(
    server: MetricsServer, readiness: Readiness
) -> None:
    readiness.answer = (False, "the API refused the token")
    status, _, body = fetch(server.url + "/readyz")
    assert (status, body) == (503, b"not ready: the API refused the token\n")

    readiness.answer = (True, "")
    status, _, body = fetch(server.url + "/readyz")
    assert (status, body) == (200, b"ready\n")


def test_a_readiness_check_that_raises_means_not_ready(
    metrics: Metrics, readiness: Readiness
) -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("boom")

    server = MetricsServer(metrics, "127.0.0.1", 0, broken)
    server.start()
    try:
        status, _, body = fetch(server.url + "/readyz")
    finally:
        server.stop()

    assert (status, body) == (503, b"not ready: the readiness check failed\n")


def test_unknown_paths_are_404(server: MetricsServer) -> None:
    assert fetch(server.url + "/")[0] == 404
    assert fetch(server.url + "/metrics/extra")[0] == 404


def test_head_answers_headers_without_a_body(server: MetricsServer) -> None:
    status, content_type, body = fetch(server.url + "/metrics", method="HEAD")

    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert body == b""


def test_the_server_reports_its_url_with_the_bound_port(server: MetricsServer) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_an_ipv6_url_puts_the_host_in_brackets(metrics: Metrics) -> None:
    server = MetricsServer(metrics, "::1", 9891, lambda: (True, ""))

    assert server.url == "http://[::1]:9891"


def test_a_port_in_use_is_a_one_line_error_naming_the_address(
    metrics: Metrics, readiness: Readiness
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MetricsServer(metrics, "127.0.0.1", port, readiness)

        with pytest.raises(MetricsServerError) as raised:
            server.start()

    assert str(raised.value) == f"cannot listen on 127.0.0.1:{port}: address already in use"


def test_an_address_of_another_machine_is_a_metrics_server_error(
    metrics: Metrics, readiness: Readiness
) -> None:
    server = MetricsServer(metrics, "192.0.2.1", 9891, readiness)  # TEST-NET-1, never local

    with pytest.raises(MetricsServerError) as raised:
        server.start()

    assert str(raised.value) == "cannot listen on 192.0.2.1:9891: cannot assign requested address"


def test_stopping_releases_the_port_and_is_idempotent(server: MetricsServer) -> None:
    port = server.port

    server.stop()
    server.stop()

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


# -- fleet size ------------------------------------------------------------------------


def a_day_of_a_fleet(metrics: Metrics, vm_ids: list[int]) -> None:
    """What a daemon exports per VM after a day: every gauge, a success and a skip."""
    metrics.register_vms(vm_ids)
    metrics.restore_last_successes({vm: START - timedelta(days=1) for vm in vm_ids})
    for vm in vm_ids:
        metrics.set_policy_rpo(vm, 88200.0)
        metrics.set_next_run(vm, START + timedelta(days=1))
        metrics.set_backup_newest(vm, START - timedelta(days=3))
        metrics.set_hold(vm, False)
        metrics.outcome(outcome(Result.SUCCESS, virtual_machine_id=vm))
        metrics.outcome(
            outcome(
                Result.SKIPPED,
                virtual_machine_id=vm,
                reason=Reason.SNAPSHOT_TOO_YOUNG.value,
                action_id=None,
            )
        )
    metrics.request_finished("GET", SNAPSHOT_PATH, "200", 0.2)


def test_a_vm_costs_at_most_twelve_series_in_the_exposition(metrics: Metrics) -> None:
    vm_ids = list(range(1_000_000, 1_000_200))
    a_day_of_a_fleet(metrics, vm_ids)

    per_vm: dict[str, int] = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            if "vm" in sample.labels:
                per_vm[sample.labels["vm"]] = per_vm.get(sample.labels["vm"], 0) + 1

    assert set(per_vm) == {str(vm) for vm in vm_ids}
    assert max(per_vm.values()) <= 12


def test_the_exposition_has_no_created_series(metrics: Metrics) -> None:
    a_day_of_a_fleet(metrics, [VM, OTHER_VM])
    metrics.request_retried(SNAPSHOT_PATH, "503")
    metrics.notification_finished("webhook", "sent")

    lines = metrics.exposition().decode().splitlines()

    names = {line.split("{")[0].split(" ")[0] for line in lines if not line.startswith("#")}
    assert [name for name in names if name.endswith("_created")] == []
    assert "snapd_api_requests_total" in names  # the counters are there, without _created


def test_the_exposition_shows_what_the_registry_holds_once_each(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    a_day_of_a_fleet(metrics, [VM, OTHER_VM])
    metrics.snapshot_seen(OTHER_VM, None)

    def samples(families: object) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
        return sorted(
            (sample.name, tuple(sorted(sample.labels.items())), sample.value)
            for family in families  # type: ignore[attr-defined]
            for sample in family.samples
        )

    exposed = samples(text_string_to_metric_families(metrics.exposition().decode()))
    assert exposed == samples(registry.collect())
    assert len(exposed) == len(set(exposed))


def test_status_is_served_as_json_only_when_the_daemon_gives_a_view(
    metrics: Metrics, readiness: Readiness, server: MetricsServer
) -> None:
    assert fetch(server.url + "/status")[0] == 404

    with_view = MetricsServer(metrics, "127.0.0.1", 0, readiness, status=lambda: {"vms": []})
    broken = MetricsServer(metrics, "127.0.0.1", 0, readiness, status=lambda: 1 / 0)
    with_view.start()
    broken.start()
    try:
        answered = fetch(with_view.url + "/status")
        failed = fetch(broken.url + "/status")
    finally:
        with_view.stop()
        broken.stop()

    assert answered == (200, "application/json", b'{"vms":[]}')
    assert failed[0] == 500


def test_a_snapshot_taken_while_the_health_check_failed_is_counted_apart(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    metrics.outcome(outcome(Result.SUCCESS))
    assert value(registry, "snapd_snapshot_unhealthy_total", vm=str(VM)) is None
    metrics.outcome(outcome(Result.SUCCESS, reason="created_unhealthy"))
    assert value(registry, "snapd_snapshot_unhealthy_total", vm=str(VM)) == 1
    assert attempts(registry, "success") == 2
