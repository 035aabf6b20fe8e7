"""Parsing of API records, endpoint templates and error texts; no network."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from snapd.hostinger import (
    ENDPOINTS,
    Action,
    ActionPage,
    AmbiguousRequestError,
    ApiError,
    Backup,
    BusyError,
    Snapshot,
    VirtualMachine,
    parse_timestamp,
    template_for_path,
)
from snapd.hostinger.endpoints import endpoint_path
from snapd.hostinger.models import ShapeError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-02-27T11:54:22Z", datetime(2025, 2, 27, 11, 54, 22, tzinfo=UTC)),
        ("2024-09-05T07:25:36.00000Z", datetime(2024, 9, 5, 7, 25, 36, tzinfo=UTC)),
        ("2024-09-05T07:25:36.12345Z", datetime(2024, 9, 5, 7, 25, 36, 123450, tzinfo=UTC)),
        ("2025-02-27T13:54:22+02:00", datetime(2025, 2, 27, 11, 54, 22, tzinfo=UTC)),
        ("2025-02-27T11:54:22", datetime(2025, 2, 27, 11, 54, 22, tzinfo=UTC)),
        ("2025-02-27 11:54:22z", datetime(2025, 2, 27, 11, 54, 22, tzinfo=UTC)),
    ],
)
def test_timestamps_are_read_as_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


FEBRUARY_27 = datetime(2025, 2, 27, 11, 54, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-27T11:54:22Z",
        "2025-02-27T11:54:22",
        "2025-02-27 11:54:22",
        "2025-02-27T11:54:22.000000000Z",
        "2025-02-27 11:54:22 UTC",
        "2025-02-27T11:54:22 GMT",
        "2025-02-27T13:54:22+02:00",
        "2025-02-27T13:54:22+0200",
        "Thu, 27 Feb 2025 11:54:22 GMT",
        "Thu, 27 Feb 2025 12:54:22 +0100",
        1740657262,
        1740657262.0,
        "1740657262",
        1740657262000,
        "1740657262000",
    ],
)
def test_every_plausible_timestamp_format_names_the_same_instant(value: object) -> None:
    assert parse_timestamp(value) == FEBRUARY_27


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "yesterday",
        "2025-13-45T00:00:00Z",
        True,
        float("nan"),
        float("inf"),
        -1,
        0,
        "0",
        1e30,
        "UTC",
        "x" * 10_000,
        [2025, 2, 27],
    ],
)
def test_unreadable_timestamps_become_none(value: object) -> None:
    assert parse_timestamp(value) is None


def test_a_snapshot_whose_creation_time_is_unreadable_exists_with_an_unknown_age() -> None:
    snapshot = Snapshot.from_json({"id": 325, "created_at": "last Tuesday", "expires_at": None})

    assert snapshot is not None
    assert snapshot.created_at is None
    assert snapshot.created_at_unreadable
    assert snapshot.created_at_raw == "last Tuesday"


def test_a_snapshot_without_a_creation_time_exists_with_an_unknown_age() -> None:
    snapshot = Snapshot.from_json({"id": 325, "restore_time": 1800})

    assert snapshot is not None
    assert (snapshot.created_at, snapshot.created_at_unreadable) == (None, True)
    assert snapshot.created_at_raw is None


def test_a_snapshot_with_a_readable_creation_time_is_not_flagged() -> None:
    snapshot = Snapshot.from_json({"id": 325, "created_at": 1740657262})

    assert snapshot is not None
    assert snapshot.created_at == FEBRUARY_27
    assert not snapshot.created_at_unreadable
    assert snapshot.created_at_raw is None


def test_a_virtual_machine_keeps_the_fields_snapd_needs_and_ignores_the_rest() -> None:
    machine = VirtualMachine.from_json(
        {
            "id": 1268054,
            "state": "running",
            "actions_lock": "unlocked",
            "hostname": "srv1268054.hstgr.cloud",
            "plan": "KVM 2",
            "cpus": 2,
            "template": {"id": 1, "name": "Ubuntu"},
            "brand_new_field": [1, 2, 3],
        }
    )
    assert machine == VirtualMachine(
        id=1268054,
        state="running",
        actions_lock="unlocked",
        hostname="srv1268054.hstgr.cloud",
        plan="KVM 2",
    )
    assert not machine.is_locked


def test_an_undocumented_virtual_machine_state_is_kept_as_it_is() -> None:
    machine = VirtualMachine.from_json(
        {"id": 1, "state": "migrating", "actions_lock": "locked", "plan": None}
    )
    assert machine.state == "migrating"
    assert machine.is_locked
    assert machine.hostname is None and machine.plan is None


def test_missing_enum_fields_read_as_unknown_and_an_unfamiliar_lock_is_not_locked() -> None:
    machine = VirtualMachine.from_json({"id": 1})
    assert (machine.state, machine.actions_lock) == ("unknown", "unknown")
    assert not machine.is_locked


@pytest.mark.parametrize("data", [{}, {"id": None}, {"id": "abc"}, {"id": True}, [], "text", None])
def test_a_virtual_machine_without_an_integer_id_is_a_shape_error(data: object) -> None:
    with pytest.raises(ShapeError):
        VirtualMachine.from_json(data)


def test_records_are_frozen() -> None:
    machine = VirtualMachine.from_json({"id": 1, "state": "running"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        machine.state = "stopped"  # type: ignore[misc]


def test_a_snapshot_is_read_with_its_times() -> None:
    snapshot = Snapshot.from_json(
        {
            "id": 325,
            "restore_time": 1800,
            "created_at": "2025-02-27T11:54:22Z",
            "expires_at": "2025-03-19T11:54:22Z",
        }
    )
    assert snapshot == Snapshot(
        id=325,
        created_at=datetime(2025, 2, 27, 11, 54, 22, tzinfo=UTC),
        expires_at=datetime(2025, 3, 19, 11, 54, 22, tzinfo=UTC),
        restore_time=1800,
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"id": None, "restore_time": None, "created_at": None, "expires_at": None},
        {"id": None, "created_at": "2025-02-27T11:54:22Z"},
    ],
)
def test_every_way_of_saying_no_snapshot_reads_as_none(data: object) -> None:
    assert Snapshot.from_json(data) is None


@pytest.mark.parametrize(
    "data",
    [
        {"message": "Service temporarily unavailable", "correlation_id": "abc"},
        {"created_at": "2025-02-27T11:54:22Z"},
    ],
)
def test_an_object_without_an_id_that_says_something_is_a_shape_error_not_no_snapshot(
    data: object,
) -> None:
    with pytest.raises(ShapeError):
        Snapshot.from_json(data)


def test_an_object_of_nulls_without_an_id_reads_as_no_snapshot() -> None:
    assert Snapshot.from_json({"created_at": None, "expires_at": None}) is None


def test_a_snapshot_answer_that_is_not_an_object_is_a_shape_error() -> None:
    with pytest.raises(ShapeError):
        Snapshot.from_json([{"id": 1}])


@pytest.mark.parametrize(
    ("state", "final", "succeeded"),
    [
        ("created", False, False),
        ("sent", False, False),
        ("delayed", False, False),
        ("started", False, False),
        ("something_new", False, False),
        ("success", True, True),
        ("error", True, False),
    ],
)
def test_only_success_and_error_end_an_action(state: str, final: bool, succeeded: bool) -> None:
    action = Action.from_json({"id": 8123712, "name": "create_snapshot", "state": state})
    assert action.state == state
    assert action.is_final is final
    assert action.succeeded is succeeded


def test_an_action_is_read_with_its_times() -> None:
    action = Action.from_json(
        {
            "id": 8123712,
            "name": "action_name",
            "state": "success",
            "created_at": "2025-02-27T11:54:00Z",
            "updated_at": "2025-02-27T11:58:00Z",
        }
    )
    assert action.created_at == datetime(2025, 2, 27, 11, 54, tzinfo=UTC)
    assert action.updated_at == datetime(2025, 2, 27, 11, 58, tzinfo=UTC)


def test_an_action_without_state_is_still_running() -> None:
    action = Action.from_json({"id": 5})
    assert action.state == "unknown"
    assert action.name == ""
    assert not action.is_final


def test_a_backup_is_read_with_its_size_and_location() -> None:
    backup = Backup.from_json(
        {
            "id": 325,
            "size": 15240192,
            "restore_time": 3600,
            "location": "nl-srv-nodebackups",
            "created_at": "2025-02-27T11:54:22Z",
        }
    )
    assert backup == Backup(
        id=325,
        size=15240192,
        restore_time=3600,
        location="nl-srv-nodebackups",
        created_at=datetime(2025, 2, 27, 11, 54, 22, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("current_page", "per_page", "total", "has_more"),
    [(1, 15, 100, True), (7, 15, 100, False), (1, 15, 15, False), (1, 15, 0, False)],
)
def test_an_action_page_knows_whether_more_pages_follow(
    current_page: int, per_page: int, total: int, has_more: bool
) -> None:
    page = ActionPage(actions=(), current_page=current_page, per_page=per_page, total=total)
    assert page.has_more is has_more


def test_every_endpoint_maps_back_from_a_concrete_path_to_its_template() -> None:
    for template in ENDPOINTS.values():
        path = endpoint_path(template, virtualMachineId=1268054, actionId=8123712)
        assert "{" not in path
        assert template_for_path(path) == template
        assert template_for_path(path + "?page=3") == template


def test_a_path_outside_the_api_maps_to_other_not_to_itself() -> None:
    assert template_for_path("/api/vps/v1/virtual-machines/1/firewall") == "other"


def test_endpoint_paths_only_take_integer_ids() -> None:
    with pytest.raises(TypeError):
        endpoint_path(ENDPOINTS["get_vm"], virtualMachineId="1/../../x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        endpoint_path(ENDPOINTS["get_vm"], virtualMachineId=True)


def test_an_error_names_method_template_status_message_and_correlation_id() -> None:
    error = ApiError(
        "Unauthenticated",
        endpoint=ENDPOINTS["get_vm"],
        method="GET",
        status=401,
        correlation_id="26a91bd9",
    )
    assert str(error) == (
        "GET /api/vps/v1/virtual-machines/{virtualMachineId}: HTTP 401: Unauthenticated "
        "(correlation_id 26a91bd9)"
    )
    assert "26a91bd9" in repr(error)


def test_a_busy_error_keeps_the_field_errors() -> None:
    error = BusyError(
        "busy",
        endpoint=ENDPOINTS["create_snapshot"],
        status=422,
        errors={"virtualMachineId": ["Another action is in progress"]},
    )
    assert error.errors == {"virtualMachineId": ["Another action is in progress"]}


def test_an_error_without_an_answer_says_so() -> None:
    error = AmbiguousRequestError(
        "no answer (ReadTimeoutError)", endpoint=ENDPOINTS["create_snapshot"]
    )
    assert "POST" in str(error) and "no answer" in str(error)
    assert error.status is None


def test_timestamps_with_offsets_keep_the_same_instant() -> None:
    moment = parse_timestamp("2025-02-27T06:54:22-05:00")
    assert moment == datetime(2025, 2, 27, 6, 54, 22, tzinfo=timezone(timedelta(hours=-5)))
    assert moment is not None and moment.tzinfo == UTC
