"""The README's key tables and config.example.yaml's comments agree with the schema."""

from __future__ import annotations

from pathlib import Path

from snapd.config.key_docs import (
    documented_keys,
    example_problems,
    readme_block,
    readme_tables,
    rewrite_example,
    undescribed_keys,
)

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "config.example.yaml").read_text(encoding="utf-8")


def test_every_key_of_the_schema_has_a_description() -> None:
    missing = undescribed_keys()
    assert not missing, (
        "these policy keys have no description in the schema (snapd/config/schema.py and "
        f"the modules it takes parts from): {', '.join(missing)}"
    )


def test_a_key_without_a_description_is_named_with_its_path() -> None:
    schema = {
        "properties": {
            "accounts": {
                "type": "array",
                "description": "Hostinger accounts.",
                "items": {"properties": {"token_file": {"type": "string"}}},
            },
            "fleets": {"type": "object"},
        }
    }
    assert undescribed_keys(schema) == ["accounts[].token_file", "fleets"]


def test_the_readme_key_tables_are_the_ones_generated_from_the_schema() -> None:
    assert readme_block(README) == readme_tables(), (
        "README.md's key tables differ from the schema's: paste the output of "
        "`python -m snapd.config.key_docs` between the markers"
    )


def test_every_key_is_in_the_example_and_its_comment_begins_with_its_meaning() -> None:
    problems = example_problems(EXAMPLE)
    assert not problems, "\n".join(problems)


def test_a_comment_that_says_something_else_is_named_and_rewritten() -> None:
    example = "api:\n  # Connect and read timeout of a single request.\n  timeout: 30s\n"
    timeout = next(key for key in documented_keys() if key.path == "api.timeout")
    assert (
        f"config.example.yaml:3: api.timeout: the comment above it must begin with "
        f"{timeout.sentence()!r}"
    ) in example_problems(example)
    rewritten = rewrite_example(example)
    assert "Connect and read" not in rewritten
    assert "config.example.yaml:3: api.timeout" not in "\n".join(example_problems(rewritten))


def test_rewriting_the_example_changes_nothing_once_it_agrees() -> None:
    assert rewrite_example(EXAMPLE) == EXAMPLE


def test_the_known_disagreements_are_settled_in_the_one_source() -> None:
    meanings = {key.path: key.sentence() for key in documented_keys()}
    assert meanings["api.timeout"].startswith("The total time one attempt")
    assert "ambiguous" in meanings["vms[].post_hook"]
    assert "interrupted" in meanings["vms[].post_hook"]
    assert "/status" in meanings["metrics.listen"]
