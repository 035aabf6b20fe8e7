"""Shared fixtures: policy files written to a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = PROJECT_ROOT / "config.example.yaml"

PolicyWriter = Callable[[str], Path]


@pytest.fixture
def write_policy(tmp_path: Path) -> PolicyWriter:
    """Write a dedented YAML policy to ``tmp_path/config.yaml`` and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
