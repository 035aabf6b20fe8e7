"""Which of snapd's environment variables a hook may see, and the ``env`` key that names more.

A hook is someone else's program: it starts from an allow-list (``PATH``, ``HOME``,
``LANG``, ``LC_*``, ``TZ``), gets the ``SNAPD_*`` variables snapd sets, and sees any other
variable of snapd's environment only when its ``env`` list names it. Secrets are withheld
even when named: every ``PG*`` variable (libpq reads ``PGPASSWORD`` and friends), every name
ending in ``TOKEN``, ``PASSWORD`` or ``SECRET``, ``HOSTINGER_API_TOKEN`` and
``CREDENTIALS_DIRECTORY``. ``config validate`` refuses to name them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

KeyPath = tuple[str | int, ...]
Reporter = Callable[[KeyPath, str], None]

#: Passed to every hook from snapd's environment (``LC_*`` too).
ALLOWED_VARIABLES = frozenset({"PATH", "HOME", "LANG", "TZ"})
_WITHHELD_NAMES = frozenset({"HOSTINGER_API_TOKEN", "CREDENTIALS_DIRECTORY"})
_WITHHELD_SUFFIXES = ("TOKEN", "PASSWORD", "SECRET")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

ENVIRONMENT_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "default": [],
    "description": "Variables of snapd's own environment passed on to the hook, by name. A "
    "hook always gets PATH, HOME, LANG, LC_*, TZ and the SNAPD_* variables, and nothing else "
    "unless named here. Secrets are never passed and cannot be named: PG*, *TOKEN, "
    "*PASSWORD, *SECRET, HOSTINGER_API_TOKEN, CREDENTIALS_DIRECTORY.",
}


def withheld(name: str) -> bool:
    """True for a variable no hook may see, whatever the policy says (case ignored)."""
    upper = name.upper()
    return upper in _WITHHELD_NAMES or upper.startswith("PG") or upper.endswith(_WITHHELD_SUFFIXES)


def hook_variables(inherited: Mapping[str, str], named: tuple[str, ...]) -> dict[str, str]:
    """The part of ``inherited`` (snapd's environment) a hook gets: the allow-list and the
    ``named`` variables that are set, less every withheld one."""
    return {
        key: value
        for key, value in inherited.items()
        if (key in ALLOWED_VARIABLES or key.startswith("LC_") or key in named) and not withheld(key)
    }


def check_names(raw: object, key_path: KeyPath, report: Reporter) -> tuple[str, ...]:
    """The ``env`` list of a hook (already schema-valid, or None) as names; a malformed or
    withheld name goes to ``report`` and is left out."""
    if not isinstance(raw, list):
        return ()
    names = []
    for index, name in enumerate(raw):
        if not _NAME.fullmatch(name):
            report((*key_path, index), f"expected a variable name like MY_SETTING, got {name!r}")
        elif withheld(name):
            report(
                (*key_path, index),
                f"{name} is withheld from hooks (PG*, *TOKEN, *PASSWORD, *SECRET and the "
                "API credentials never reach a hook); pass the hook a file path instead",
            )
        else:
            names.append(name)
    return tuple(names)
