"""Every kind of answer of the fake API checked against the official OpenAPI description.

Bodies are validated with the spec's own schemas (``$ref`` resolved inside the spec), and
on top of that objects must not carry keys the schema does not name, and resources must
carry every key the schema names, so that a misspelt field cannot pass.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault
from tests.support.fakeapi import PREFIX, START, TOKEN, call
from tests.support.fakeapi import clock_start as clock_start
from tests.support.fakeapi import fake_settings as fake_settings
from tests.support.fakeapi import session as session

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "hostinger-openapi-vps.json"
ACTION_SECONDS = 60.0
# The validation error map of a 422 names arbitrary fields; the spec's field_1/field_2 are
# examples, so its keys are not checked.
OPEN_OBJECTS = frozenset({"errors"})


def _allow_null_beside_composition(node: Any) -> Any:
    """Make ``nullable: true`` next to ``oneOf`` accept ``null``.

    The spec writes nullable references as ``{"oneOf": [{"$ref": ...}], "nullable": true}``
    and says in the description that the field is ``null`` when absent (``ipv6``). OpenAPI
    3.0.3 reads ``nullable`` as applying only beside ``type``, which the validator follows,
    so it would refuse the documented ``null``; this rewrite applies the stated meaning.
    """
    if isinstance(node, list):
        return [_allow_null_beside_composition(item) for item in node]
    if not isinstance(node, dict):
        return node
    rewritten = {key: _allow_null_beside_composition(value) for key, value in node.items()}
    if rewritten.get("nullable") is True and "oneOf" in rewritten and "type" not in rewritten:
        rest = {key: value for key, value in rewritten.items() if key != "nullable"}
        return {"anyOf": [rest, {"enum": [None]}]}
    return rewritten


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    loaded["components"] = _allow_null_beside_composition(copy.deepcopy(loaded["components"]))
    return loaded


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _key_problems(
    spec: dict[str, Any], schema: dict[str, Any], instance: Any, where: str, complete: bool
) -> list[str]:
    """Keys outside the schema's properties (and, with ``complete``, properties missing)."""
    schema = _resolve(spec, schema)
    for composition in ("oneOf", "anyOf"):
        if composition in schema:
            options = [_resolve(spec, option) for option in schema[composition]]
            options = [option for option in options if option.get("enum") != [None]]
            if instance is None or len(options) != 1:
                return []
            return _key_problems(spec, options[0], instance, where, complete)
    problems = []
    if isinstance(instance, dict) and "properties" in schema:
        properties = schema["properties"]
        problems += [
            f"{where}.{key} is not in the schema" for key in instance if key not in properties
        ]
        if complete:
            problems += [f"{where}.{key} is missing" for key in properties if key not in instance]
        for key, value in instance.items():
            if key in properties and key not in OPEN_OBJECTS:
                problems += _key_problems(spec, properties[key], value, f"{where}.{key}", complete)
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            problems += _key_problems(spec, schema["items"], item, f"{where}[{index}]", complete)
    return problems


def assert_matches(
    spec: dict[str, Any], schema: dict[str, Any], instance: Any, *, complete: bool = True
) -> None:
    """Validate ``instance`` against ``schema`` and check its keys strictly."""
    rooted = dict(schema, components=spec["components"])
    OAS30Validator(rooted, format_checker=oas30_format_checker).validate(instance)
    assert _key_problems(spec, schema, instance, "$", complete) == []


def operation_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    """The 200 schema of an operation, ``path`` relative to the virtual-machines prefix."""
    operation = spec["paths"][PREFIX + path][method]
    schema: dict[str, Any] = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


def error_schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """The body schema of a shared error response such as ``ErrorResponse``."""
    response = spec["components"]["responses"][f"Common.Response.{name}"]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


@pytest.fixture
def action_seconds() -> float:
    """The contract runs the fake with shorter actions than the other fake API tests."""
    return ACTION_SECONDS


def test_the_virtual_machine_list_matches_the_collection_schema(
    spec: dict[str, Any], fake: FakeHostinger, session: requests.Session
) -> None:
    machines = call(fake, session, "GET", "").json()
    assert any(machine["ipv6"] is None for machine in machines)
    assert any(machine["ipv6"] is not None for machine in machines)
    assert_matches(
        spec,
        spec["paths"][PREFIX]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
        machines,
    )


def test_a_virtual_machine_matches_the_resource_schema_while_restoring_and_locked(
    spec: dict[str, Any], fake: FakeHostinger, session: requests.Session
) -> None:
    machine_id = fake.vm_ids[0]
    fake.set_snapshot(machine_id, START - timedelta(days=1))
    call(fake, session, "POST", f"/{machine_id}/snapshot/restore")
    machine = call(fake, session, "GET", f"/{machine_id}").json()
    assert (machine["state"], machine["actions_lock"]) == ("restoring", "locked")
    assert_matches(spec, operation_schema(spec, "/{virtualMachineId}", "get"), machine)


def test_snapshots_set_by_hand_and_made_by_an_action_match_the_snapshot_schema(
    spec: dict[str, Any], fake: FakeHostinger, session: requests.Session, clock: ManualClock
) -> None:
    schema = operation_schema(spec, "/{virtualMachineId}/snapshot", "get")
    first, second = fake.vm_ids[:2]
    fake.set_snapshot(first, START - timedelta(hours=3))
    assert_matches(spec, schema, call(fake, session, "GET", f"/{first}/snapshot").json())
    call(fake, session, "POST", f"/{second}/snapshot")
    clock.advance(ACTION_SECONDS)
    assert_matches(spec, schema, call(fake, session, "GET", f"/{second}/snapshot").json())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/{id}/snapshot"),
        ("DELETE", "/{id}/snapshot"),
        ("POST", "/{id}/snapshot/restore"),
        ("POST", "/{id}/backups/{backup}/restore"),
    ],
)
def test_every_action_starting_call_answers_an_action_matching_the_schema(
    spec: dict[str, Any],
    fake: FakeHostinger,
    session: requests.Session,
    method: str,
    path: str,
) -> None:
    machine_id = fake.vm_ids[0]
    fake.set_snapshot(machine_id, START - timedelta(days=2))
    backup_id = call(fake, session, "GET", f"/{machine_id}/backups").json()["data"][0]["id"]
    concrete = path.format(id=machine_id, backup=backup_id)
    answer = call(fake, session, method, concrete)
    assert answer.status_code == 200
    template = path.format(id="{virtualMachineId}", backup="{backupId}")
    assert_matches(spec, operation_schema(spec, template, method.lower()), answer.json())


@pytest.mark.parametrize(
    ("fault", "seconds_and_states"),
    [
        (None, [(0, "created"), (ACTION_SECONDS * 0.5, "sent"), (ACTION_SECONDS, "success")]),
        (Fault(kind="action_error", endpoint="create_snapshot"), [(ACTION_SECONDS, "error")]),
        (
            Fault(kind="action_states", endpoint="create_snapshot", states=["created", "delayed"]),
            [(0, "created"), (ACTION_SECONDS, "delayed")],
        ),
    ],
)
def test_every_documented_action_state_matches_the_action_schema(
    spec: dict[str, Any],
    fake: FakeHostinger,
    session: requests.Session,
    clock: ManualClock,
    fault: Fault | None,
    seconds_and_states: list[tuple[float, str]],
) -> None:
    if fault is not None:
        fake.inject(fault)
    machine_id = fake.vm_ids[0]
    action_id = call(fake, session, "POST", f"/{machine_id}/snapshot").json()["id"]
    schema = operation_schema(spec, "/{virtualMachineId}/actions/{actionId}", "get")
    for seconds, state in seconds_and_states:
        clock.set(START + timedelta(seconds=seconds))
        action = call(fake, session, "GET", f"/{machine_id}/actions/{action_id}").json()
        assert action["state"] == state
        assert_matches(spec, schema, action)


def test_an_actions_page_matches_the_paginated_schema(
    spec: dict[str, Any], fake: FakeHostinger, session: requests.Session, clock: ManualClock
) -> None:
    machine_id = fake.vm_ids[0]
    for _ in range(17):
        call(fake, session, "POST", f"/{machine_id}/snapshot")
        clock.advance(ACTION_SECONDS)
    schema = operation_schema(spec, "/{virtualMachineId}/actions", "get")
    for page in (1, 2):
        body = call(fake, session, "GET", f"/{machine_id}/actions?page={page}").json()
        assert body["meta"]["current_page"] == page
        assert_matches(spec, schema, body)


def test_a_backups_page_matches_the_paginated_schema(
    spec: dict[str, Any], fake: FakeHostinger, session: requests.Session
) -> None:
    machine_id = fake.vm_ids[0]
    fake.add_backup(machine_id, START - timedelta(days=30))
    body = call(fake, session, "GET", f"/{machine_id}/backups").json()
    assert body["data"]
    assert_matches(spec, operation_schema(spec, "/{virtualMachineId}/backups", "get"), body)


def _error_cases() -> list[tuple[str, int, str]]:
    return [
        ("unauthenticated", 401, "UnauthorizedResponse"),
        ("unknown virtual machine", 404, "ErrorResponse"),
        ("unknown action", 404, "ErrorResponse"),
        ("unknown route", 404, "ErrorResponse"),
        ("method not allowed", 405, "ErrorResponse"),
        ("busy", 422, "UnprocessableContentResponse"),
        ("restore without snapshot", 422, "UnprocessableContentResponse"),
        ("status fault", 503, "ErrorResponse"),
        ("accepted then failed", 500, "ErrorResponse"),
        ("no snapshot", 404, "ErrorResponse"),
    ]


@pytest.mark.parametrize(("case", "status", "schema_name"), _error_cases())
def test_every_error_body_matches_the_error_schemas(
    spec: dict[str, Any],
    fake: FakeHostinger,
    session: requests.Session,
    case: str,
    status: int,
    schema_name: str,
) -> None:
    machine_id = fake.vm_ids[0]
    url = fake.base_url + PREFIX
    if case == "unauthenticated":
        answer = requests.get(url, timeout=5)
    elif case == "unknown virtual machine":
        answer = call(fake, session, "GET", "/999")
    elif case == "unknown action":
        answer = call(fake, session, "GET", f"/{machine_id}/actions/1")
    elif case == "unknown route":
        answer = call(fake, session, "GET", f"/{machine_id}/firewall")
    elif case == "method not allowed":
        answer = call(fake, session, "PUT", f"/{machine_id}/snapshot")
    elif case == "busy":
        fake.set_actions_lock(machine_id, "locked")
        answer = call(fake, session, "POST", f"/{machine_id}/snapshot")
    elif case == "restore without snapshot":
        answer = call(fake, session, "POST", f"/{machine_id}/snapshot/restore")
    elif case == "status fault":
        fake.inject(Fault(kind="status", endpoint="list_vms", status=503))
        answer = call(fake, session, "GET", "")
    elif case == "accepted then failed":
        fake.inject(Fault(kind="accept_then_fail", endpoint="create_snapshot"))
        answer = call(fake, session, "POST", f"/{machine_id}/snapshot")
    else:
        answer = call(fake, session, "GET", f"/{machine_id}/snapshot")
    assert answer.status_code == status
    body = answer.json()
    assert_matches(spec, error_schema(spec, schema_name), body, complete=False)
    assert set(body) >= {"message", "correlation_id"}
    if status == 422:
        assert body["errors"]


def test_a_rate_limited_answer_matches_the_error_schema(
    spec: dict[str, Any], clock: ManualClock, session: requests.Session
) -> None:
    with FakeHostinger(token=TOKEN, clock=clock, requests_per_minute=1) as fake:
        call(fake, session, "GET", "")
        answer = call(fake, session, "GET", "")
    assert answer.status_code == 429
    assert_matches(spec, error_schema(spec, "ErrorResponse"), answer.json(), complete=False)


def test_an_empty_object_for_a_missing_snapshot_is_within_the_snapshot_schema(
    spec: dict[str, Any], fake: FakeHostinger, session: requests.Session
) -> None:
    fake.no_snapshot_as = "empty"
    body = call(fake, session, "GET", f"/{fake.vm_ids[0]}/snapshot").json()
    assert body == {}
    schema = operation_schema(spec, "/{virtualMachineId}/snapshot", "get")
    assert_matches(spec, schema, body, complete=False)


@pytest.mark.parametrize("shape", ["null", "null_fields"])
def test_null_answers_for_a_missing_snapshot_are_deliberately_outside_the_schema(
    spec: dict[str, Any], fake: FakeHostinger, session: requests.Session, shape: str
) -> None:
    # The spec does not say what a VM without snapshot answers; the fake can play the
    # undocumented shapes a client must survive, and this checks they really are off-spec.
    fake.no_snapshot_as = shape
    body = call(fake, session, "GET", f"/{fake.vm_ids[0]}/snapshot").json()
    rooted = dict(operation_schema(spec, "/{virtualMachineId}/snapshot", "get"))
    rooted["components"] = spec["components"]
    assert not OAS30Validator(rooted, format_checker=oas30_format_checker).is_valid(body)


def test_the_undocumented_started_state_is_deliberately_outside_the_action_schema(
    spec: dict[str, Any], fake: FakeHostinger, session: requests.Session
) -> None:
    fake.inject(Fault(kind="action_states", endpoint="create_snapshot", states=["started"]))
    action = call(fake, session, "POST", f"/{fake.vm_ids[0]}/snapshot").json()
    assert action["state"] == "started"
    rooted = dict(operation_schema(spec, "/{virtualMachineId}/snapshot", "post"))
    rooted["components"] = spec["components"]
    assert not OAS30Validator(rooted, format_checker=oas30_format_checker).is_valid(action)
    assert _key_problems(spec, rooted, action, "$", complete=True) == []


@pytest.mark.parametrize(
    "fault",
    [
        None,
        Fault(kind="trickle_body", endpoint="create_snapshot", seconds=0.0),
        Fault(kind="accept_then_timeout", endpoint="create_snapshot", seconds=0.0),
    ],
)
def test_answers_under_clock_skew_list_lag_and_slow_delivery_still_match_the_schemas(
    spec: dict[str, Any],
    fake: FakeHostinger,
    session: requests.Session,
    clock: ManualClock,
    fault: Fault | None,
) -> None:
    machine_id = fake.vm_ids[0]
    fake.clock_skew = -3600
    fake.action_list_lag = 5
    if fault is not None:
        fake.inject(fault)
    action = call(fake, session, "POST", f"/{machine_id}/snapshot").json()
    assert_matches(spec, operation_schema(spec, "/{virtualMachineId}/snapshot", "post"), action)
    clock.advance(ACTION_SECONDS)
    page = call(fake, session, "GET", f"/{machine_id}/actions").json()
    assert_matches(spec, operation_schema(spec, "/{virtualMachineId}/actions", "get"), page)
    snapshot = call(fake, session, "GET", f"/{machine_id}/snapshot").json()
    assert_matches(spec, operation_schema(spec, "/{virtualMachineId}/snapshot", "get"), snapshot)
