"""libyaml's parser and the pure-Python one read a policy the same way.

Policies are read with libyaml where PyYAML has it (several times faster on a large
fleet); the pure-Python loader reads a file again only to name a problem. Both must give
the same values, the same line for every key and the same duplicate keys, and the fast
path must really be taken for a valid file, not fall back without anyone noticing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snapd.config import yaml_source
from snapd.config.yaml_source import YamlDocument, load_yaml
from tests.conftest import EXAMPLE_CONFIG

pytestmark = pytest.mark.skipif(
    yaml_source.FAST_LOADER is None, reason="PyYAML was built without libyaml"
)

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never turns red by chance
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

RICH_POLICY = textwrap.dedent(
    """\
    # comments, anchors, merge keys, flow and block styles, a duplicate key
    x-common: &common
      jitter: 5m
      timezone: Europe/Vilnius
    api: {base_url: "https://developers.hostinger.com", timeout: 30s}
    defaults:
      <<: *common
      schedule: '0 3 * * *'
      jitter: 10m
    vms:
      - id: 1
        name: >-
          folded
          name
      - {id: 2, notify: {webhooks: [{url: "https://x.example", on: [failure]}]}}
      - id: 3
        allowed_states: [running,
          stopped]
        name: |
          literal
        id: 4
    state_dir: .
    """
)


def parsed(document: YamlDocument) -> tuple[object, dict[object, int], list[object]]:
    return document.data, document.lines, document.duplicates


def both(path: Path, text: str) -> tuple[YamlDocument, YamlDocument]:
    """The document read by libyaml (no fallback allowed) and by the pure-Python loader."""
    assert yaml_source.FAST_LOADER is not None
    fast = yaml_source._load(path, text, yaml_source.FAST_LOADER)
    pure = yaml_source._load_and_explain(path, text)
    return fast, pure


@pytest.mark.parametrize("name", ["example", "rich"])
def test_both_parsers_give_the_same_values_lines_and_duplicates(tmp_path: Path, name: str) -> None:
    text = EXAMPLE_CONFIG.read_text() if name == "example" else RICH_POLICY

    fast, pure = both(tmp_path / "config.yaml", text)

    assert parsed(fast) == parsed(pure)
    assert fast.lines, "the lines were read"


def test_the_rich_policy_has_its_duplicate_and_merge_keys_where_they_are_written(
    tmp_path: Path,
) -> None:
    fast, _ = both(tmp_path / "config.yaml", RICH_POLICY)

    assert fast.duplicates == [(("vms", 2, "id"), 21)]
    assert fast.data["defaults"]["jitter"] == "10m"
    assert fast.data["vms"][1]["notify"]["webhooks"][0]["on"] == ["failure"]
    assert fast.line_of(("vms", 2, "allowed_states", 1)) == 18


# Documents both parsers accept, as a policy is written: block or flow style, any
# characters (tabs and the line breaks libyaml reads differently are left to the
# pure-Python loader, so that the check below reads them with it).
DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=15,
)


@EXAMPLES
@given(data=DATA, flow=st.booleans())
def test_any_document_reads_the_same_with_both_parsers(
    tmp_path: Path, data: object, flow: bool
) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")

    if yaml_source._PURE_ONLY.search(text):
        fast = load_yaml(path)  # left to the pure-Python loader
        pure = yaml_source._load_and_explain(path, text)
    else:
        fast, pure = both(path, text)  # libyaml itself, no fallback

    # repr: a float NaN is not equal to itself
    assert repr(parsed(fast)) == repr(parsed(pure))
