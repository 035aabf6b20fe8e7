"""Read a YAML file with ``safe_load`` semantics and remember the line of every value.

Error messages must say ``config.yaml:14: vms[2].min_age: ...``; the composed node tree
carries the marks, so the document is composed once, constructed with the safe
constructor, and walked to build a ``path -> line`` map. Duplicate keys, which
``safe_load`` silently resolves to the last one, are reported.

libyaml's parser (``CSafeLoader``) composes the tree where PyYAML was built with it: a
policy for a thousand VMs reads several times faster. Its marks carry the same lines. A
file it refuses is read again by the pure-Python loader, whose messages snapd has always
shown, so that a problem reads the same with either parser. Both loaders are in
:mod:`snapd.config.yaml_loaders`.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from snapd.config.yaml_loaders import FAST_LOADER, PureLoader

KeyPath = tuple[str | int, ...]


class YamlSourceError(Exception):
    """The file cannot be read or parsed; ``str()`` is one line ``FILE:LINE: message``."""


@dataclass
class YamlDocument:
    """The constructed data plus the line numbers of its keys and values."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, int]] = field(default_factory=list)

    def line_of(self, key_path: KeyPath) -> int:
        """The line of ``key_path``, or of its nearest ancestor that has one."""
        for length in range(len(key_path), -1, -1):
            line = self.lines.get(key_path[:length])
            if line is not None:
                return line
        return 1


def format_path(key_path: KeyPath) -> str:
    """Render ``("vms", 2, "min_age")`` as ``vms[2].min_age``."""
    text = ""
    for part in key_path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def load_yaml(path: Path) -> YamlDocument:
    """Load ``path``; raise ``YamlSourceError`` for unreadable files and syntax errors."""
    _check_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlSourceError(f"{path}: file not found") from None
    except PermissionError:
        raise YamlSourceError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise YamlSourceError(f"{path}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        raise YamlSourceError(
            f"{path}:{line}: not UTF-8 text (byte 0x{error.object[error.start]:02x}); is it binary?"
        ) from None
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise YamlSourceError(f"{path}: cannot read: {reason}") from None
    text = text.removeprefix("\ufeff")
    if FAST_LOADER is not None and not _PURE_ONLY.search(text):
        try:
            return _load(path, text, FAST_LOADER)
        except Exception:  # whatever libyaml refuses is read again below
            # Refusals are rare and their messages differ between the two parsers:
            # the pure-Python loader reads the file again to name the problem.
            pass
    return _load_and_explain(path, text)


def _load_and_explain(path: Path, text: str) -> YamlDocument:
    """Load ``text`` with the pure-Python loader; raise ``YamlSourceError`` on any problem."""
    try:
        loader = PureLoader(text)
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise YamlSourceError(
            f"{path}:{line}: invalid YAML: character #x{error.character:04x} is not allowed"
        ) from None
    try:
        return _compose_and_construct(path, loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or error.context or "invalid YAML"
        raise YamlSourceError(f"{path}:{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        problem = str(error).splitlines()[0] if str(error) else "invalid YAML"
        raise YamlSourceError(f"{path}:1: invalid YAML: {problem}") from None
    except RecursionError:
        raise YamlSourceError(f"{path}:1: invalid YAML: nested too deeply") from None


def _load(path: Path, text: str, loader_class: type[yaml.CSafeLoader]) -> YamlDocument:
    """Load ``text`` with ``loader_class``; its errors propagate as raised."""
    # The pure-Python reader refuses characters YAML does not allow; libyaml is given the
    # same text only once that check passed, so both accept the same files.
    yaml.reader.Reader(text)
    return _compose_and_construct(path, loader_class(text))


def _compose_and_construct(path: Path, loader: yaml.SafeLoader | yaml.CSafeLoader) -> YamlDocument:
    document = YamlDocument(path=path, data=None)
    try:
        node = loader.get_single_node()
        if node is not None:
            # Lines and duplicates are read before construction: constructing flattens
            # merge keys (``<<: *common``) into the mapping, and a key that overrides a
            # merged one must not count as a duplicate.
            _walk(node, (), document, set())
        document.data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return document


# Where libyaml reads differently from the pure-Python loader (it allows a tab after a
# value, a comment right after a block scalar's header, reads a bare ``!`` as "" rather
# than null, and breaks lines at U+0085 and U+2028 differently), the file is left to the
# pure-Python loader, so that snapd accepts and rejects the same files with either.
_PURE_ONLY = re.compile(r"[\t!\x85\u2028\u2029\ufeff]|[|>][-+0-9]*#")

# A policy for a thousand VMs is a few hundred kilobytes.
MAXIMUM_FILE_BYTES = 4 * 1024 * 1024


def _check_file(path: Path) -> None:
    """Refuse what reading would hang on (a pipe), or never finish (``/dev/zero``)."""
    try:
        status = path.stat()
    except (OSError, ValueError):
        return  # reading the file names the problem
    if stat.S_ISDIR(status.st_mode):
        return
    if not stat.S_ISREG(status.st_mode):
        raise YamlSourceError(f"{path}: not a regular file (a pipe or a device)")
    if status.st_size > MAXIMUM_FILE_BYTES:
        raise YamlSourceError(
            f"{path}: {status.st_size} bytes is too large for a policy (at most 4 MiB)"
        )


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _walk(node: yaml.Node, key_path: KeyPath, document: YamlDocument, visited: set[int]) -> None:
    document.lines.setdefault(key_path, node.start_mark.line + 1)
    # An alias is the same node object as its anchor: walking it again would make a few
    # lines of nested aliases ("billion laughs") cost exponential time, or loop forever
    # on a recursive one. Keys under an alias take the line of the alias.
    if id(node) in visited:
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # merged keys take the line of the mapping they are merged into
            key = str(key_node.value)
            child = (*key_path, key)
            if key in seen:
                document.duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            # The key's line reads better than the value's for "unknown key" errors.
            document.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, document, visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*key_path, index), document, visited)
