"""The package as pip builds it: the metadata a registry and a user's tools read."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PROJECT_ROOT


def built_metadata(folder: Path) -> tuple[Message, list[str]]:
    """The METADATA of the wheel pip builds from this checkout, and the wheel's files."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), "."],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    (wheel,) = folder.glob("hostinger_snapd-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(metadata).decode("utf-8")), names


def test_the_wheel_carries_the_mit_licence_its_urls_and_a_bounded_scheduler(
    tmp_path: Path,
) -> None:
    metadata, names = built_metadata(tmp_path)
    assert metadata["License-Expression"] == "MIT"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "MIT License" in (PROJECT_ROOT / "LICENSE").read_text(encoding="utf-8")
    urls = dict(value.split(", ", 1) for value in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source"} <= urls.keys()
    assert all(url.startswith("https://") for url in urls.values())
    assert "Programming Language :: Python :: 3.12" in (metadata.get_all("Classifier") or [])
    requirements = metadata.get_all("Requires-Dist") or []
    assert any(line.startswith("apscheduler") and "<4" in line for line in requirements)


def test_the_constraints_pin_every_dependency_to_a_version_the_project_accepts() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [
        Requirement(text)
        for text in project["project"]["dependencies"]
        + project["project"]["optional-dependencies"]["postgresql"]
    ]
    lines = (PROJECT_ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pins = dict(line.split("==", 1) for line in lines if line.strip() and not line.startswith("#"))
    pinned = {canonicalize_name(name): version for name, version in pins.items()}
    for requirement in wanted:
        version = pinned[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version), (requirement, version)
