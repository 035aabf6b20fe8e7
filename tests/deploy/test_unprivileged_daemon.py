"""The daemon as the deployments run it: an unprivileged user, the token as a systemd
credential, and a read-only file system but for one folder, the state directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from snapd.config.credentials import CREDENTIAL_NAME
from snapd.fakeapi import FakeHostinger
from tests.conftest import PROJECT_ROOT, TOKEN
from tests.deploy.support import STOP_TIMEOUT_SECONDS
from tests.support.daemon import DaemonProcess, metric_value
from tests.support.policy import HOURLY, NO_MANUAL_PROTECTION, write_policy
from tests.support.tools import tool

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="switching to an unprivileged user needs root (CI runs as root)"
)

DISTRIBUTION = "hostinger-snapd"
NOBODY = 65534  # the uid and gid of nobody and nogroup: owns nothing but the state folder
SWITCH_USER = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
# In a mount namespace of its own (the machine's mounts stay as they are), every mount but
# /proc, /sys and /dev turns read-only; the state folder ($1) is bound onto itself first so
# that it alone stays writable, as a container's volume on a read-only root file system.
READ_ONLY = r"""
state="$1"; shift
mount --bind "$state" "$state"
for mount_point in $(awk '{print $2}' /proc/self/mounts | grep -Ev '^/(proc|sys|dev)(/|$)'); do
    [ "$mount_point" = "$state" ] || mount -o remount,bind,ro "$mount_point"
done
exec "$@"
"""


class UnprivilegedDaemon(DaemonProcess):
    """``snapd run`` started by ``command`` with exactly ``environment``."""

    def __init__(self, command: list[str], environment: dict[str, str], folder: Path) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=environment,
            text=True,
        )
        self.events = []
        self.raw = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


def make_read_only(destination: Path) -> None:
    for folder, _, files in os.walk(destination):
        os.chmod(folder, 0o555)
        for name in files:
            os.chmod(Path(folder) / name, 0o444)


def runtime_distributions(name: str = DISTRIBUTION) -> list[metadata.Distribution]:
    """The installed distributions ``name`` needs at run time, transitively, without
    extras; a requirement not installed here (a marker for another platform) is left out."""
    found: dict[str, metadata.Distribution] = {}
    pending = [name]
    while pending:
        wanted = pending.pop()
        try:
            distribution = metadata.distribution(wanted)
        except metadata.PackageNotFoundError:
            continue
        key = distribution.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found[key] = distribution
        for requirement in distribution.requires or []:
            if "extra ==" not in requirement:
                pending.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    del found[name]
    return list(found.values())


def copy_dependencies(library: Path) -> None:
    """Copy snapd's run-time dependencies into ``library``. The virtual environment may lie
    below a folder that only its owner may enter (a home folder, ``mktemp -d``): the
    unprivileged user could not import from it."""
    for distribution in runtime_distributions():
        for file in distribution.files or []:
            source = Path(str(distribution.locate_file(file)))
            if file.parts[0] == ".." or "__pycache__" in file.parts or not source.is_file():
                continue  # scripts beside the environment, caches
            target = library / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def interpreter(environment: dict[str, str], folder: Path) -> str:
    """A Python of this version that the unprivileged user may run (this one may sit in
    a home folder it cannot enter)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (str(Path(sys.executable).resolve()), f"/usr/bin/python{version}"):
        probe = subprocess.run(
            [*SWITCH_USER, candidate, "-c", "import snapd, sys; print(snapd.__file__)"],
            env=environment,
            cwd=folder,  # not the project: the copy must be what is imported
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if probe.returncode == 0:
            assert probe.stdout.startswith(environment["PYTHONPATH"].split(os.pathsep)[0])
            return candidate
    pytest.fail(f"no Python {version} that user {NOBODY} may run")


@pytest.fixture
def root() -> Iterator[Path]:
    # Not below pytest's tmp_path: its folders are closed to other users.
    folder = Path(tempfile.mkdtemp(prefix="snapd-unprivileged-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize(
    "root_token_file",
    [False, True],
    ids=["credential-only", "credential-and-a-token-file-only-root-can-read"],
)
def test_an_unprivileged_daemon_on_a_read_only_file_system_takes_a_verified_snapshot(
    root: Path, root_token_file: bool
) -> None:
    library = root / "lib"
    library.mkdir()
    shutil.copytree(
        PROJECT_ROOT / "snapd", library / "snapd", ignore=shutil.ignore_patterns("__pycache__")
    )
    copy_dependencies(library)
    make_read_only(library)
    credentials = root / "credentials"
    credentials.mkdir(mode=0o500)
    (credentials / CREDENTIAL_NAME).write_text(TOKEN)
    (credentials / CREDENTIAL_NAME).chmod(0o400)
    state = root / "state"
    state.mkdir(mode=0o700)
    for owned in (credentials, credentials / CREDENTIAL_NAME, state):
        os.chown(owned, NOBODY, NOBODY)
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",
        "LANG": "C.UTF-8",
        # Only the copies: nothing of the project or its virtual environment.
        "PYTHONPATH": str(library),
        "CREDENTIALS_DIRECTORY": str(credentials),  # as systemd's LoadCredential= sets it
    }
    for name in ("setpriv", "unshare"):
        tool(name, "util-linux")
    python = interpreter(environment, root)
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=1.0, seed=7) as fake:
        policy = write_policy(
            root / "config.yaml",
            fake.base_url,
            fake.vm_ids,
            state,
            schedule=HOURLY,
            defaults=NO_MANUAL_PROTECTION,
        )
        if root_token_file:
            # The credential wins: the token_file the dynamic user cannot read is not used
            # (nor checked), as under systemd with api.token_file set to LoadCredential='s
            # source.
            token_file = root / "hostinger-api-token"
            token_file.write_text("not-the-token")
            token_file.chmod(0o600)
            text = policy.read_text().replace("api: {", f"api: {{token_file: '{token_file}', ", 1)
            policy.write_text(text)
        policy.chmod(0o444)
        read_only = ["unshare", "--mount", "--propagation", "private", "sh", "-ec", READ_ONLY]
        run = [python, "-m", "snapd.cli", "run", "-c", str(policy)]
        daemon = UnprivilegedDaemon(
            [*read_only, "sh", str(state), *SWITCH_USER, *run], environment, root
        )
        try:
            (vm,) = fake.vm_ids
            daemon.wait_for("snapshot_finished", timeout=30, vm=vm, result="success")
            exposition = daemon.scrape()
        finally:
            stopping = time.monotonic()  # stop() sends SIGTERM
            exit_code = daemon.stop(timeout=STOP_TIMEOUT_SECONDS + 5)
            stopped_after = time.monotonic() - stopping
    assert exit_code == 0, "".join(daemon.raw)
    assert stopped_after < STOP_TIMEOUT_SECONDS
    assert fake.count("POST", "/snapshot") == 1
    successes = metric_value(
        exposition, "snapd_snapshot_attempts_total", result="success", vm=str(vm)
    )
    assert successes == 1
    assert daemon.count("secret_file_permissions") == 0
    # What it wrote (the ledger) belongs to the daemon's user.
    written = list(state.rglob("*"))
    assert written, "the ledger is in the state folder"
    assert all(path.stat().st_uid == NOBODY for path in written)
