"""``snapd manpage``: the manual page, written in roff from the argparse parser.

Nothing here is written by hand but the section names: every command, usage line, option
and help text comes from the parser that ``snapd`` itself parses with, so the page cannot
disagree with ``--help``. No date goes into the page: the same snapd makes the same page.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from snapd import __version__

_SUMMARY = "scheduled, guarded snapshots for Hostinger VPS machines"
#: Usage lines are wrapped here, as on an 80-column terminal, so the page is the same
#: wherever it is made.
_WIDTH = 78


def roff_text(text: str) -> str:
    """``text`` as roff: backslashes and hyphens escaped, no line read as a request."""
    escaped = text.replace("\\", "\\e").replace("-", "\\-")
    lines = [f"\\&{line}" if line.startswith((".", "'")) else line for line in escaped.splitlines()]
    return "\n".join(lines)


def _paragraphs(text: str | None) -> str:
    """Prose (a description, an epilog) as roff paragraphs, split at blank lines."""
    if not text:
        return ""
    blocks = [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]
    return "\n.PP\n".join(roff_text(block) for block in blocks) + "\n"


def _subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command under ``parser`` with its words (``("config", "show")``), in
    ``--help`` order; a group (``config``) comes before its commands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from _subcommands(child, (*path, name))


def _option_entries(parser: argparse.ArgumentParser) -> str:
    """One ``.TP`` entry per option and positional argument, with its help."""
    formatter = parser._get_formatter()
    entries = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        invocation = formatter._format_action_invocation(action)
        help_text = formatter._expand_help(action) if action.help else ""
        entries.append(
            f".TP\n\\fB{roff_text(invocation)}\\fR\n{roff_text(' '.join(help_text.split()))}\n"
        )
    return "".join(entries)


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage lines as ``--help`` wraps them at 78 columns, whatever the terminal."""
    formatter = argparse.HelpFormatter(prog=parser.prog, width=_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, "")
    lines = [line.strip() for line in formatter.format_help().strip("\n").splitlines()]
    usage = "\n".join(lines[:1] + [f"    {line}" for line in lines[1:]])
    return f".PP\n.nf\n{roff_text(usage)}\n.fi\n"


def manual_page(parser: argparse.ArgumentParser) -> str:
    """The whole page for ``parser`` (the top-level ``snapd`` one), in roff (man(7))."""
    name = parser.prog
    parts = [
        f'.TH {name.upper()} 1 "" "{name} {__version__}" "User Commands"\n',
        f".SH NAME\n{name} \\- {roff_text(_SUMMARY)}\n",
        f".SH SYNOPSIS\n{_usage(parser)}",
        f".SH DESCRIPTION\n{_paragraphs(parser.description)}",
        f".SH OPTIONS\n{_option_entries(parser)}",
        ".SH COMMANDS\n",
    ]
    for words, command in _subcommands(parser):
        parts.append(f'.SS "{roff_text(" ".join((name, *words)))}"\n')
        parts.append(_usage(command))
        parts.append(f".PP\n{_paragraphs(command.description)}")
        parts.append(_option_entries(command))
    parts.append(f".SH EXIT STATUS\n.nf\n{roff_text(parser.epilog or '')}\n.fi\n")
    return "".join(parts)
