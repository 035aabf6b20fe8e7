"""URLs are shown with their secrets masked and everything that names the service kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapd.config import ConfigError, load_config
from snapd.config.masking import mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://web-1.example.com/healthz", "https://web-1.example.com/healthz"),
        (
            "https://monitor:s3cret@web-1.example.com:8443/healthz",
            "https://***:***@web-1.example.com:8443/healthz",
        ),
        ("https://token@web-1.example.com/", "https://***@web-1.example.com/"),
        (
            "https://web-1.example.com/healthz?key=abc123&verbose=1",
            "https://web-1.example.com/healthz?key=***&verbose=***",
        ),
        ("https://web-1.example.com/healthz?abc123", "https://web-1.example.com/healthz?***"),
        ("https://web-1.example.com/healthz#token=abc", "https://web-1.example.com/healthz#***"),
        ("http://[fd00::1]:8080/healthz?key=x", "http://[fd00::1]:8080/healthz?key=***"),
        ("http://[fd00::1/healthz?key=x", "http://[fd00::1/healthz?***"),
        ("https://u:p@[fd00::1/healthz#f", "https://***@[fd00::1/healthz#***"),
    ],
)
def test_a_url_keeps_scheme_host_port_and_path_and_masks_the_rest(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_a_policy_error_about_a_url_shows_it_masked(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        'vms: [{id: 1, schedule: "@daily", '
        'health_check: {url: "https://monitor:s3cret@host:99999/healthz?key=k3y"}}]\n'
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [
        f"{path}:1: vms[0].health_check.url: expected an http(s) URL, "
        "got 'https://***:***@host:99999/healthz?key=***': Port out of range 0-65535"
    ]
