"""Read a YAML file with ``safe_load`` semantics and remember the line of every value.

Error messages must say ``config.yaml:14: vms[2].min_age: ...``; the composed node tree
carries the marks, so the document is composed once, constructed with the safe
constructor, and walked to build a ``path -> line`` map. Duplicate keys, which
``safe_load`` silently resolves to the last one, are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


class _PolicyLoader(yaml.SafeLoader):
    """A safe loader whose mapping keys ``on``/``off``/``yes``/``no`` stay text.

    YAML 1.1 reads a bare ``on:`` as the boolean True, yet ``on`` is a policy key
    (``notify.webhooks[].on``) and no policy key is a boolean.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _BOOLEAN_TAG:
                key_node.tag = _STRING_TAG
        return super().construct_mapping(node, deep)


_BOOLEAN_TAG = "tag:yaml.org,2002:bool"
_STRING_TAG = "tag:yaml.org,2002:str"


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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlSourceError(f"{path}: file not found") from None
    except PermissionError:
        raise YamlSourceError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise YamlSourceError(f"{path}: is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise YamlSourceError(f"{path}: cannot read: {error}") from None
    loader = _PolicyLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or error.context or "invalid YAML"
        raise YamlSourceError(f"{path}:{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise YamlSourceError(f"{path}:1: invalid YAML: {error}") from None
    finally:
        loader.dispose()
    document = YamlDocument(path=path, data=data)
    if node is not None:
        _walk(node, (), document)
    return document


def _walk(node: yaml.Node, key_path: KeyPath, document: YamlDocument) -> None:
    document.lines.setdefault(key_path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*key_path, key)
            if key in seen:
                document.duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            # The key's line reads better than the value's for "unknown key" errors.
            document.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*key_path, index), document)
