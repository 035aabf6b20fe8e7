"""The test tree mirrors the source: every pipeline module has its own test file."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_pipeline_module_has_its_own_test_file() -> None:
    modules = sorted(
        path.stem for path in (ROOT / "snapd" / "pipeline").glob("*.py") if path.stem != "__init__"
    )
    missing = [
        f"snapd/pipeline/{name}.py"
        for name in modules
        if not (ROOT / "tests" / "pipeline" / f"test_{name}.py").is_file()
    ]
    assert modules
    assert missing == [], f"no tests/pipeline/test_<module>.py for: {', '.join(missing)}"
