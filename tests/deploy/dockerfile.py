"""A Dockerfile read into its stages and instructions, enough for the tests to check it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword in capitals and the rest of the (joined) line."""

    keyword: str
    arguments: str

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form ``ENTRYPOINT``/``CMD``/``HEALTHCHECK``, or None."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.split("CMD", 1)[1] if "CMD" in text else ""
        text = text.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        return [str(item) for item in value]


@dataclass
class Stage:
    """A ``FROM`` and what follows it up to the next ``FROM``."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [item for item in self.instructions if item.keyword == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The ``ARG`` defaults declared before the first ``FROM``, and the stages.

    Continuation lines (ending in a backslash) are joined; comments are dropped.
    """
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].strip() + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    global_arguments: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif not stages and keyword == "ARG":
            key, _, default = arguments.partition("=")
            global_arguments[key] = default
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, arguments.strip()))
    return global_arguments, stages
