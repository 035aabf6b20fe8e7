"""The policy's documentation, generated from its schema: one statement of each key.

Every key of ``POLICY_SCHEMA`` carries a ``description`` (what it means) and, where it has
one, a ``default``. From them come the README's key tables (:func:`readme_tables`, between
the markers :data:`BEGIN` and :data:`END`) and the first lines of each key's comment in
``config.example.yaml`` (:func:`example_problems` says where the example disagrees). A
comment in the example may go on after those lines with examples and advice, never
restate the meaning differently. ``python -m snapd.config.key_docs`` prints the tables;
``python -m snapd.config.key_docs config.example.yaml`` rewrites the comments that
disagree (a key the example lacks is added by hand, commented out if need be).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from snapd.config.schema import POLICY_SCHEMA

BEGIN = (
    "<!-- key table: generated from snapd/config/schema.py (python -m snapd.config.key_docs) -->"
)
END = "<!-- end of the generated key table -->"
_WIDTH = 90  # the example's comments are wrapped here
_KEY_LINE = re.compile(r'^(?P<prefix>[ #]*?(?:- )?)"?(?P<key>[A-Za-z_]+)"?:(?: |$)')


@dataclass(frozen=True)
class KeyDoc:
    """One key of the policy: its path (``api.timeout``, ``notify.webhooks[].url``), its
    schema node, its meaning, its default (None: it has none) and whether the mapping it
    belongs to requires it."""

    path: str
    node: dict[str, Any]
    description: str | None
    default: Any
    required: bool = False

    def sentence(self) -> str:
        """The meaning, then the default, as the example's comment starts."""
        text = " ".join((self.description or "").split())
        if self.default is not None:
            text += f" Default {_shown(self.default)}."
        return text


def documented_keys(schema: dict[str, Any] = POLICY_SCHEMA) -> list[KeyDoc]:
    """Every key of ``schema`` at any depth, in the schema's order, parents first."""
    return list(_walk(schema, ""))


def _walk(node: dict[str, Any], prefix: str) -> Iterator[KeyDoc]:
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        yield from _walk(node["items"], prefix + "[]")
        return
    required = set(node.get("required", ()))
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        description, default = child.get("description"), child.get("default")
        yield KeyDoc(path, child, description, default, required=key in required)
        yield from _walk(child, path)


def undescribed_keys(schema: dict[str, Any] = POLICY_SCHEMA) -> list[str]:
    """The paths of the keys that lack a description."""
    return [key.path for key in documented_keys(schema) if not key.description]


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


def _row(key: KeyDoc, path: str) -> str:
    default = "(required)" if key.required else "-"
    if key.default is not None:
        default = f"`{_shown(key.default)}`"
    meaning = " ".join((key.description or "").split()).replace("|", "\\|")
    return f"| `{path}` | {default} | {meaning} |"


def _first_appearances(schema: dict[str, Any]) -> dict[int, KeyDoc]:
    """Each schema node once, by identity, named where it first appears (a VM's keys are
    one node under ``defaults`` and under ``vms``; a hook's ``env`` one node in both)."""
    keys: dict[int, KeyDoc] = {}
    for key in documented_keys(schema):
        keys.setdefault(id(key.node), key)
    return keys


def readme_tables(schema: dict[str, Any] = POLICY_SCHEMA) -> str:
    """The README's two key tables: a VM's own keys (under ``defaults`` or on the VM),
    then every other key."""
    header = "| key | default | meaning |\n| --- | --- | --- |\n"
    keys = documented_keys(schema)
    per_vm = [
        _row(key, key.path.removeprefix("vms[].")) for key in keys if key.path.startswith("vms[].")
    ]
    others = [
        _row(key, key.path) for key in keys if not key.path.startswith(("vms[].", "defaults."))
    ]
    # The keys a VM takes that ``defaults`` does not (its id, its name).
    defaults = [key.path for key in keys if key.path.startswith("defaults.")]
    shared = {path.removeprefix("defaults.") for path in defaults}
    vm_level = [key.path.removeprefix("vms[].") for key in keys if key.path.startswith("vms[].")]
    own = [f"`{name}`" for name in vm_level if "." not in name and name not in shared]
    listed = ", ".join(own[:-1]) + f" and {own[-1]}" if len(own) > 1 else "".join(own)
    return (
        f"A VM's keys; all but {listed} may also go under `defaults`, for every "
        "VM:\n\n"
        + header
        + "\n".join(per_vm)
        + "\n\nThe other keys:\n\n"
        + header
        + "\n".join(others)
        + "\n"
    )


def readme_block(readme: str) -> str | None:
    """The generated part of ``readme`` (between the markers), or None without them."""
    if BEGIN not in readme or END not in readme:
        return None
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def example_problems(example: str, schema: dict[str, Any] = POLICY_SCHEMA) -> list[str]:
    """Where ``example`` (config.example.yaml's text) disagrees with the schema: a key it
    never shows (even commented out), or a key whose first appearance's comment does not
    begin with the key's meaning and default. One line each, naming the key."""
    lines = example.splitlines()
    problems, seen = [], set()
    for number, key, first, start in _first_comments(lines, schema):
        seen.add(id(key.node))
        if not _words(lines[first:number], start).startswith(key.sentence()):
            problems.append(
                f"config.example.yaml:{number + 1}: {key.path}: the comment above it must "
                f"begin with {key.sentence()!r}"
            )
    for node_id, key in _first_appearances(schema).items():
        if node_id not in seen:
            problems.append(f"config.example.yaml: {key.path}: not shown, even commented out")
    return problems


def rewrite_example(example: str, schema: dict[str, Any] = POLICY_SCHEMA) -> str:
    """``example`` with the comment of each key whose comment does not begin with its
    meaning replaced by the meaning and default, wrapped (a key the example never shows is
    left to be written by hand). A comment that begins right is kept, advice and all."""
    lines = example.splitlines()
    replacements = []
    for number, key, first, start in _first_comments(lines, schema):
        if not _words(lines[first:number], start).startswith(key.sentence()):
            width = max(_WIDTH - len(start), 40)
            wrapped = textwrap.wrap(key.sentence(), width, break_long_words=False)
            replacements.append((first, number, [start + line for line in wrapped]))
    for first, number, text in reversed(replacements):
        lines[first:number] = text
    return "\n".join(lines) + "\n"


def _first_comments(
    lines: list[str], schema: dict[str, Any]
) -> Iterator[tuple[int, KeyDoc, int, str]]:
    """(line index, key, index of its comment's first line, how its comment lines begin)
    of each key's first appearance in ``lines``; the comment is the block just above it,
    no blank line between, up to a key commented out above it."""
    keys = _first_appearances(schema)
    names = frozenset(key.path.rsplit(".", 1)[-1].removesuffix("[]") for key in keys.values())
    seen: set[int] = set()
    for number, node, prefix in _key_lines(lines, schema):
        if id(node) in seen or id(node) not in keys:
            continue
        seen.add(id(node))
        start, first = _comment_prefix(prefix), number
        while first > 0 and lines[first - 1].startswith(start):
            match = _KEY_LINE.match(lines[first - 1])
            if match is not None and match["key"] in names:
                break
            first -= 1
        yield number, keys[id(node)], first, start


def _words(comment: list[str], start: str) -> str:
    """The comment's lines as one line of words, without their ``start`` (``  # ``)."""
    return " ".join(" ".join(line[len(start) :] for line in comment).split())


def _key_lines(
    lines: list[str], schema: dict[str, Any]
) -> Iterator[tuple[int, dict[str, Any], str]]:
    """(line index, schema node, the text before the key) of every line that writes a key
    of the schema, commented out or not, with its place found by indentation."""
    stack: list[tuple[int, dict[str, Any]]] = [(-1, schema)]
    for number, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if match is None:
            continue
        prefix = match["prefix"]
        indent = _indent(prefix)
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if parent.get("type") == "array":
            parent = parent.get("items", {})
        child = parent.get("properties", {}).get(match["key"])
        if not isinstance(child, dict):
            continue  # a comment that happens to read "Word: ..."
        stack.append((indent, child))
        yield number, child, prefix


def _indent(prefix: str) -> int:
    """The YAML indentation a prefix stands for: a ``- `` counts as two spaces, a ``# ``
    commenting a key out counts as nothing."""
    if "#" in prefix:
        before, after = prefix.split("#", 1)
        return len(before) + max(len(after.replace("- ", "  ")) - 1, 0)
    return len(prefix.replace("- ", "  "))


def _comment_prefix(prefix: str) -> str:
    """How the comment lines of a key written after ``prefix`` begin: ``  # `` above
    ``  key:``, ``  - key:`` and the first key commented out (``  # key:``); ``#   # ``
    above a key inside a commented-out block (``#   key:``, ``#   - key:``)."""
    if "#" in prefix:
        before, after = prefix.split("#", 1)
        if after.strip(" -") == "" and len(after) <= 1:
            return f"{before}# "
        return f"{prefix.split('-', 1)[0]}# "  # ``#   - key:``'s comment is ``#   # ``
    return prefix.split("-", 1)[0] + "# "


if __name__ == "__main__":
    # With a path: rewrite that example's comments that disagree; without: print the tables.
    import sys
    from pathlib import Path

    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.write_text(rewrite_example(target.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(readme_tables())
