"""The error answers of the fake API, shaped like Hostinger's ``ErrorResponse``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JsonObject = dict[str, Any]


class FakeApiError(Exception):
    """An answer other than success, raised anywhere below the HTTP layer.

    ``status`` is the HTTP status, ``message`` goes into the body's ``message`` field,
    ``errors`` (field name to list of messages) is added for validation failures (422) and
    ``headers`` are extra response headers (``Allow`` for 405, for instance).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors) if errors is not None else None
        self.headers = dict(headers) if headers is not None else {}

    def body(self, correlation_id: str) -> JsonObject:
        """Return the JSON body: ``{message, correlation_id}`` plus ``errors`` when set."""
        return error_body(self.message, correlation_id, self.errors)


def error_body(
    message: str, correlation_id: str, errors: Mapping[str, list[str]] | None = None
) -> JsonObject:
    """Build an error body in the key order the real API uses."""
    body: JsonObject = {"message": message}
    if errors is not None:
        body["errors"] = {field: list(messages) for field, messages in errors.items()}
    body["correlation_id"] = correlation_id
    return body


def busy_error() -> FakeApiError:
    """The answer to a create, delete or restore while the VM's actions are locked.

    What the live API answers here is undocumented; the fake uses 422, which the design
    notes treat as "busy" together with 409.
    """
    message = "Another action is already in progress for this virtual machine"
    return FakeApiError(422, message, errors={"virtualMachineId": [message]})
