"""The API paths snapd calls, by name, as templates.

Templates (with ``{virtualMachineId}`` and ``{actionId}`` left in) are what metrics and
logs carry: a bounded set of values, unlike raw URLs with ids in them. The names match
the operations in the client and in the embedded fake API.
"""

from __future__ import annotations

import re
from types import MappingProxyType

__all__ = ["ENDPOINTS", "endpoint_path", "template_for_path"]

_MACHINES = "/api/vps/v1/virtual-machines"
_MACHINE = _MACHINES + "/{virtualMachineId}"

#: Operation name to path template, exactly as in the OpenAPI description.
ENDPOINTS: MappingProxyType[str, str] = MappingProxyType(
    {
        "list_vms": _MACHINES,
        "get_vm": _MACHINE,
        "get_snapshot": _MACHINE + "/snapshot",
        "create_snapshot": _MACHINE + "/snapshot",
        "delete_snapshot": _MACHINE + "/snapshot",
        "restore_snapshot": _MACHINE + "/snapshot/restore",
        "list_actions": _MACHINE + "/actions",
        "get_action": _MACHINE + "/actions/{actionId}",
        "list_backups": _MACHINE + "/backups",
    }
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def endpoint_path(template: str, **ids: int) -> str:
    """Fill a template's placeholders with integer ids.

    Raises:
        KeyError: a placeholder has no value.
        TypeError: a value is not an int (a bool is not accepted either), so that no
            caller-supplied text can reach the URL path.
    """

    def fill(match: re.Match[str]) -> str:
        value = ids[match.group(1)]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{match.group(1)} must be an int, got {type(value).__name__}")
        return str(value)

    return _PLACEHOLDER.sub(fill, template)


def _pattern_for(template: str) -> re.Pattern[str]:
    literal_parts = _PLACEHOLDER.split(template)[::2]
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in literal_parts) + "/?$")


_TEMPLATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (_pattern_for(template), template) for template in dict.fromkeys(ENDPOINTS.values())
)


def template_for_path(path: str) -> str:
    """Map a concrete request path (query ignored) back to its template.

    A path that matches no known template gives ``"other"``, never the path itself, so
    that callers can use the result as a bounded metric label.
    """
    bare = path.split("?", 1)[0]
    for pattern, template in _TEMPLATE_PATTERNS:
        if pattern.match(bare):
            return template
    return "other"
