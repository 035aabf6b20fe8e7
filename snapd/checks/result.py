"""What a health check or a hook reports, and the log lines that tell it.

Shared by ``snapd.checks.health_check`` and ``snapd.checks.hooks``: both return a
``HookResult`` and log it the same way, under the ``snapd.pipeline.hooks`` logger.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog


@dataclass(frozen=True)
class HookResult:
    """What a check or hook said.

    ``ok``: whether the snapshot may go ahead. ``detail``: one line for the log, naming
    what was run (the URL masked). ``exit_code``: for hooks, the exit code (negative:
    killed by that signal; ``None``: never ran to an end). ``output``: the last
    characters of a hook's merged stdout and stderr. ``cause``: the short human reason,
    for tables and notifications (``status 401``, ``connection refused``,
    ``timed out after 10s``, ``exit code 3: disk full``).
    """

    ok: bool
    detail: str
    exit_code: int | None = None
    output: str = ""
    cause: str = ""


def logger() -> structlog.typing.FilteringBoundLogger:
    """The hooks' logger, looked up per use so that log capture in tests sees it."""
    found: structlog.typing.FilteringBoundLogger = structlog.get_logger("snapd.hooks")
    return found


def log_outcome(
    event: str, result: HookResult, virtual_machine_id: object, **fields: object
) -> None:
    """One line for the outcome; a second one with the output, if there was any.

    Only ``result`` and ``fields`` are logged: a hook's environment never is.
    """
    log = logger()
    if result.exit_code is not None:
        fields["exit_code"] = result.exit_code
    report = log.info if result.ok else log.warning
    if virtual_machine_id is not None:
        # Otherwise the VM bound to the job's log context (``snapd.logs``) names it.
        fields["vm"] = virtual_machine_id
    report(event, ok=result.ok, detail=result.detail, **fields)
    if result.output:
        # Output can be long and noisy; it matters mostly when the hook failed.
        show = log.debug if result.ok else log.info
        vm = {} if virtual_machine_id is None else {"vm": virtual_machine_id}
        show(f"{event.removesuffix('_finished')}_output", output=result.output, **vm)
