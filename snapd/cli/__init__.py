"""The ``snapd`` command line: the grammar, the dispatch and one module per command."""

from __future__ import annotations

from snapd.cli.dispatch import main

__all__ = ["main"]
