"""The README's systemd steps, walked as written in a scratch root: the policy and the
token where the unit looks for them, and ``config validate`` passing the way it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tests.deploy.support import DEPLOY
from tests.deploy.unit_file import directives

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("\n### systemd\n", 1)[1].split("\n### ", 1)[0]
UNIT = directives(DEPLOY / "systemd" / "hostinger-snapd.service")
INSTALLED_SNAPD = "/opt/hostinger-snapd/bin/snapd"
TOKEN = "readme-walk-token"


def step(number: int) -> list[str]:
    """The shell lines of step ``number``, continuations joined, comments left out."""
    (block,) = re.findall(r"```sh\n(.*?)```", SECTION, flags=re.DOTALL)
    text = block.split(f"# {number}. ", 1)[1].split(f"\n# {number + 1}. ", 1)[0]
    lines = text.replace("\\\n", " ").splitlines()[1:]  # the first line is the step's title
    return [" ".join(line.split()) for line in lines if line.strip()]


def in_scratch_root(line: str, root: Path) -> str:
    """``line`` as root runs it, with the machine's folders moved under ``root``."""
    line = line.removeprefix("sudo ")
    line = line.replace(INSTALLED_SNAPD, str(Path(sys.executable).parent / "snapd"))
    return line.replace("/etc/hostinger-snapd", f"{root}/etc/hostinger-snapd")


def test_the_policy_and_token_steps_end_in_a_validate_that_passes(tmp_path: Path) -> None:
    commands = [in_scratch_root(line, tmp_path) for line in step(2)]
    # sudoedit opens an editor: the example is kept as shipped, which must validate.
    script = "set -e\n" + "\n".join(line for line in commands if not line.startswith("sudoedit"))
    # Never touch the machine's own folders: a step naming another one fails here instead.
    outside = re.findall(
        r"(?<![\w.-])/(?:etc|var|opt|usr)/\S*", script.replace(str(tmp_path), "ROOT")
    )
    assert outside == [], f"the README's step 2 names paths outside the scratch root: {outside}"
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HOSTINGER_API_TOKEN", "CREDENTIALS_DIRECTORY"}
    }
    result = subprocess.run(
        ["sh", "-c", script],
        cwd=PROJECT_ROOT,
        input=TOKEN + "\n",
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid, 2 virtual machine(s)" in result.stdout
    assert "warning" not in result.stderr
    name, _, source = UNIT["Service.LoadCredential"][-1].partition(":")
    token_file = Path(in_scratch_root(source, tmp_path))
    assert token_file.read_text(encoding="utf-8").strip() == TOKEN
    assert token_file.stat().st_mode & 0o777 == 0o600
    # The folder validate was given holds the token under the credential's name: what the
    # service finds in $CREDENTIALS_DIRECTORY.
    assert token_file.name == name
    assert f"--credentials-dir {Path(source).parent}" in " ".join(step(2))


def test_validate_checks_the_policy_the_service_runs() -> None:
    policy = UNIT["Service.ExecStart"][-1].split(" -c ", 1)[1]
    (validate,) = [line for line in step(2) if " config validate " in line]
    assert f"-c {policy} " in f"{validate} "
    assert any(line.endswith(f"config.example.yaml {policy}") for line in step(2))


def test_without_the_credential_validate_says_no_token_and_exits_2(tmp_path: Path) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HOSTINGER_API_TOKEN", "CREDENTIALS_DIRECTORY"}
    }
    empty = tmp_path / "credentials"
    empty.mkdir()
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "snapd"),
            "config",
            "validate",
            "-c",
            str(PROJECT_ROOT / "config.example.yaml"),
            "--credentials-dir",
            str(empty),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("snapd: error: no API token")
