"""The two YAML loaders snapd reads policies with, and what they check while constructing.

Both build values with PyYAML's safe constructors, with three differences: a bare ``on:``
key stays the text ``on`` (no policy key is a boolean), a value a constructor cannot
read (``2025-13-45``, thousands of digits) is a ``ConstructorError`` carrying its line,
and a string holding a lone surrogate is refused. :class:`PureLoader` is PyYAML's
pure-Python parser; :data:`FAST_LOADER` is libyaml's, or ``None`` where PyYAML was
built without it.
"""

from __future__ import annotations

from typing import Any

import yaml

_BOOLEAN_TAG = "tag:yaml.org,2002:bool"
_STRING_TAG = "tag:yaml.org,2002:str"


class _Checks(yaml.constructor.SafeConstructor):
    """The safe constructors, with value errors that carry the value's line.

    The safe constructors raise a bare ``ValueError`` for a date like ``2025-13-45`` or an
    integer of thousands of digits; as a ``ConstructorError`` they become a
    ``FILE:LINE: invalid YAML`` problem like any syntax error. Mixed into both loaders:
    libyaml's parser where PyYAML was built with it, and the pure-Python one.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # YAML 1.1 reads a bare ``on:`` as the boolean True, yet ``on`` is a policy key
        # (``notify.webhooks[].on``) and no policy key is a boolean.
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _BOOLEAN_TAG:
                key_node.tag = _STRING_TAG
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as error:
            if isinstance(error, yaml.YAMLError):
                raise
            text = str(node.value)
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {shown!r} ({_reason(error)})", node.start_mark
            ) from None


class PureLoader(_Checks, yaml.SafeLoader):
    """The pure-Python loader: slower, and the one whose error messages snapd shows."""


def _construct_text(loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.ScalarNode) -> str:
    """A string scalar, refused (with its line) when it holds a lone surrogate."""
    text: str = loader.construct_scalar(node)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # "\ud800" is a valid YAML escape but not a character: nothing could print it.
        raise yaml.constructor.ConstructorError(
            None, None, "a \\u escape that is not a character (a lone surrogate)", node.start_mark
        ) from None
    return text


PureLoader.add_constructor("tag:yaml.org,2002:str", _construct_text)

FAST_LOADER: type[yaml.CSafeLoader] | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _FastLoader(_Checks, yaml.CSafeLoader):
        """libyaml's parser, several times faster, with the same constructors."""

    _FastLoader.add_constructor("tag:yaml.org,2002:str", _construct_text)
    FAST_LOADER = _FastLoader


def _reason(error: Exception) -> str:
    """One line saying why a value could not be constructed."""
    if "integer string conversion" in str(error):
        return "a number with too many digits"
    return str(error).splitlines()[0] if str(error) else type(error).__name__
