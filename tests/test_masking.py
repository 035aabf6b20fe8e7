"""URLs are shown with their secrets masked and everything that names the service kept."""

from __future__ import annotations

import pytest

from snapd.masking import mask_url


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
        ("http://[fd00::1/healthz?key=x", "***"),
    ],
)
def test_a_url_keeps_scheme_host_port_and_path_and_masks_the_rest(url: str, shown: str) -> None:
    assert mask_url(url) == shown
