"""The image's build stage, run here: its exact install steps give a working ``snapd``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from snapd import __version__
from tests.conftest import PROJECT_ROOT
from tests.deploy.dockerfile import parse

ARGUMENTS, STAGES = parse((PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8"))
BUILD = STAGES[0]


def copy_build_context(destination: Path) -> None:
    """What the build stage's COPY instructions bring in, and nothing else."""
    for copy in BUILD.all("COPY"):
        *sources, target = copy.arguments.split()
        for source in sources:
            origin = PROJECT_ROOT / source
            place = destination / target / source if target.endswith("/") else destination / target
            if origin.is_dir():
                shutil.copytree(origin, place, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                place.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, place)


def test_the_build_stage_steps_install_a_snapd_that_prints_its_version(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    copy_build_context(source)
    # The image's absolute paths, moved into the temporary folder.
    moved = {"/opt/snapd": str(tmp_path / "opt" / "snapd"), "/wheels": str(tmp_path / "wheels")}
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    for step in BUILD.all("RUN"):
        command = step.arguments
        for image_path, here in moved.items():
            command = command.replace(image_path, here)
        result = subprocess.run(
            ["sh", "-c", command],
            cwd=source,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    snapd = Path(moved["/opt/snapd"]) / "bin" / "snapd"
    version = subprocess.run(
        [str(snapd), "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert version.stdout.split() == ["snapd", __version__]
    # The PostgreSQL ledger's client is there too, for the replicas.
    python = Path(moved["/opt/snapd"]) / "bin" / "python"
    subprocess.run([str(python), "-c", "import psycopg"], timeout=60, check=True)
    wheels = list(Path(moved["/wheels"]).glob("hostinger_snapd-*.whl"))
    assert len(wheels) == 1
