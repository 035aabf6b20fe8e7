"""Random policy files: the loader, ``config validate`` and ``show`` accept or reject them.

Whatever the file holds, ``load_config`` returns a ``Config`` or raises ``ConfigError``, and
``snapd config validate`` exits 0 or 2 with one line per problem. The checks in snapd
report every problem themselves: the catch-all problem (``UNEXPECTED_PROBLEM``) must not
show up either, or a value path slipped through.
"""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snapd.cli import main
from snapd.config import UNEXPECTED_PROBLEM, Config, ConfigError, load_config

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never turns red by chance
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

VALID_POLICY: dict[str, Any] = {
    "api": {"base_url": "https://developers.hostinger.com", "timeout": "30s"},
    "defaults": {"schedule": "0 3 * * *", "timezone": "UTC", "min_age": "6h"},
    "vms": [
        {
            "id": 1268054,
            "name": "web-1",
            "schedule": "30 2 * * *",
            "health_check": {"url": "https://web-1.example.com/healthz", "timeout": "10s"},
            "pre_hook": {"command": ["/bin/true"], "timeout": "2m"},
        }
    ],
    "metrics": {"listen": "127.0.0.1:9891"},
    "stop_timeout": "10s",
    "log": {"format": "json", "level": "info"},
}


def _key_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _key_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _key_paths(item, (*prefix, index))


# Every key of the valid policy, plus the keys it leaves at their defaults.
KEY_PATHS = [
    *_key_paths(VALID_POLICY),
    *[("defaults", key) for key in ("jitter", "catch_up", "allowed_states", "post_hook")],
    *[("api", key) for key in ("token_file", "requests_per_minute")],
    ("vms", 0, "timezone"),
    ("vms", 0, "health_check", "expect_status"),
    ("state_dir",),
    ("unknown_key",),
]

# Values that once escaped as tracebacks, or sit on a boundary.
NASTY = [
    None,
    True,
    0,
    -1,
    2**63,
    10**4000,
    float("nan"),
    float("inf"),
    "",
    "6h",
    "0s",
    "9999999999999w",
    "1" * 5000 + "s",
    "٣h",
    "http://[fd00::1/healthz",
    "https://user:password@host:99999/?key=secret",
    "http://host/a b",
    "1.2.3.4:²",
    "²0 3 * * *",
    "*/99999 * * * *",
    "America",
    "a" * 300,
    "../../etc/passwd",
    "nul\0byte",
    "\ud800",
    [],
    {},
    [[[]]],
    {"nested": {"map": [1, "two"]}},
]
SCALARS = st.one_of(
    st.sampled_from(NASTY),
    st.integers(),
    st.integers(min_value=-(10**4000), max_value=10**4000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet="0123456789smhdw*/-,@: .[]?#=%²٣", max_size=30),
    st.builds("{}{}".format, st.integers(0, 10**30), st.sampled_from(["s", "m", "h", "d", "w"])),
)
# Scalars on their own half the time: most value checks never see a nested value.
VALUES = SCALARS | st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), children, max_size=4),
    ),
    max_leaves=12,
)
# Text that looks enough like YAML to reach past the parser now and then.
YAML_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="vms:id-_ {}[],&*!|>'\"#%@`\n\t0123456789abc\\", max_size=200),
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _set(policy: Any, key_path: tuple[Any, ...], value: Any) -> Any:
    target = policy
    for key in key_path[:-1]:
        target = target[key]
    target[key_path[-1]] = value
    return policy


def _assert_loaded_or_rejected(path: Path) -> bool:
    """Load ``path``; True when it was accepted."""
    try:
        assert isinstance(load_config(path), Config)
    except ConfigError as error:
        assert error.problems
        assert all("\n" not in problem for problem in error.problems)
        assert not any(UNEXPECTED_PROBLEM in problem for problem in error.problems)
        return False
    return True


def _assert_only_accepted_or_rejected(path: Path) -> None:
    _assert_loaded_or_rejected(path)
    _assert_validate_exits_0_or_2(path)


def _run(*arguments: str) -> tuple[int, str]:
    """``snapd ARGUMENTS`` in-process; the exit code and what it wrote to stderr.

    Real UTF-8 streams, as a terminal has: text that cannot be encoded must fail here.
    """
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(arguments))
        out.flush()
        err.flush()
    return code, err.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def _assert_validate_exits_0_or_2(path: Path) -> None:
    code, error_text = _run("config", "validate", "-c", str(path))
    assert code in (0, 2), error_text
    assert "Traceback" not in error_text
    assert (code == 2) == bool(error_text)
    if code == 0:
        # An accepted policy is printed back whole by `config show`.
        assert _run("config", "show", "-c", str(path))[0] == 0


def _write(folder: Path, key_path: tuple[Any, ...], value: Any) -> Path:
    policy = _set(copy.deepcopy(VALID_POLICY), key_path, value)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


def test_every_nasty_value_at_every_key_is_accepted_or_rejected(folder: Path) -> None:
    for key_path in KEY_PATHS:
        for value in NASTY:
            path = _write(folder, key_path, value)
            # An accepted value is printed back (a note, `config show`): check the CLI too.
            if _assert_loaded_or_rejected(path):
                _assert_validate_exits_0_or_2(path)


@FUZZ
@given(key_path=st.sampled_from(KEY_PATHS), value=VALUES)
def test_any_value_at_any_key_is_accepted_or_rejected_without_a_traceback(
    folder: Path, key_path: tuple[Any, ...], value: Any
) -> None:
    _assert_only_accepted_or_rejected(_write(folder, key_path, value))


@FUZZ
@given(text=YAML_TEXT)
def test_any_text_is_accepted_or_rejected_without_a_traceback(folder: Path, text: str) -> None:
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")

    _assert_only_accepted_or_rejected(path)


@FUZZ
@given(content=st.binary(max_size=200))
def test_any_bytes_are_accepted_or_rejected_without_a_traceback(
    folder: Path, content: bytes
) -> None:
    path = folder / "config.yaml"
    path.write_bytes(content)

    _assert_only_accepted_or_rejected(path)
