"""The option groups and the parser class every ``snapd`` command shares: ``-c``, ``-v``.

``-c FILE`` and ``-v`` are accepted before or after the command; help is wrapped at whole
words. ``--workers`` is in ``argument_types`` with the other value checks.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path
from typing import Any

from snapd.config import DEFAULT_CONFIG_PATH

VERBOSE_HELP = "log at debug level whatever the policy says"
VM_HELP = "a virtual machine: its id, or its name in the policy"


class WholeWordsFormatter(argparse.HelpFormatter):
    """Wraps help at spaces only, so that an example (``get_action:action_states``,
    ``Retry-After=60``) is never broken in the middle of a word."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(
            " ".join(text.split()), width, break_long_words=False, break_on_hyphens=False
        )

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )


class Parser(argparse.ArgumentParser):
    """Every (sub)command's parser: help wrapped at whole words."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", WholeWordsFormatter)
        super().__init__(*args, **kwargs)


def default_config() -> tuple[Path, str]:
    """The policy file used without ``-c``, and where that choice comes from."""
    chosen = os.environ.get("SNAPD_CONFIG")
    if chosen:
        return Path(chosen), "from $SNAPD_CONFIG"
    return DEFAULT_CONFIG_PATH, "$SNAPD_CONFIG overrides it"


def with_policy_hint(problems: list[str]) -> list[str]:
    """``problems`` with a hint on the line that says the policy file used without ``-c``
    is missing: where that path came from, and how to name another."""
    path, _ = default_config()
    missing = f"{path}: file not found"
    if os.environ.get("SNAPD_CONFIG"):
        hint = "the policy named by $SNAPD_CONFIG; fix it, or pass -c FILE"
    else:
        hint = "the default policy file; pass -c FILE or set $SNAPD_CONFIG to use another"
    return [f"{line} ({hint})" if line == missing else line for line in problems]


def config_option(*, top_level: bool = False) -> argparse.ArgumentParser:
    """``-c FILE`` (and, on a command, ``-v``): on the top level with the default, on a
    command without one, so that ``snapd -c F status`` and ``snapd status -c F`` mean
    the same."""
    parent = verbose_option() if not top_level else Parser(add_help=False)
    path, source = default_config()
    parent.add_argument(
        "-c",
        "--config",
        type=Path,
        default=path if top_level else argparse.SUPPRESS,
        metavar="FILE",
        help=f"policy file (default: {path}, {source})",
    )
    return parent


def verbose_option() -> argparse.ArgumentParser:
    """``-v`` after the command, as before it (no default here: the top level's stands)."""
    parent = Parser(add_help=False)
    parent.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
    )
    return parent
