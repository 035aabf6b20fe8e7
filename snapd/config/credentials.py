"""Where the Hostinger API token comes from, in order of precedence.

1. ``api.token_file`` from the policy;
2. ``$CREDENTIALS_DIRECTORY/hostinger-api-token`` (systemd ``LoadCredential=``);
3. ``/run/secrets/hostinger_api_token`` (Docker and Compose secrets);
4. the ``HOSTINGER_API_TOKEN`` environment variable.

The token never appears in a message raised from here: errors name the file, not its content.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CONTAINER_SECRET = Path("/run/secrets/hostinger_api_token")
CREDENTIAL_NAME = "hostinger-api-token"
ENVIRONMENT_VARIABLE = "HOSTINGER_API_TOKEN"


class CredentialError(Exception):
    """No usable token; the message is one line and never contains a token."""


@dataclass(frozen=True)
class Token:
    """The token and where it came from; ``repr`` and ``str`` never show the value."""

    value: str
    source: str
    warning: str | None = None

    def __repr__(self) -> str:
        return f"Token(source={self.source!r}, value='***')"

    __str__ = __repr__


def _read_token_file(path: Path) -> Token:
    try:
        # Windows editors start a UTF-8 file with a byte-order mark; it is not part of
        # the token, and left in it would be refused as a "control character".
        text = path.read_text(encoding="utf-8-sig").strip()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CredentialError(f"token file {path}: file not found") from None
    except PermissionError:
        raise CredentialError(f"token file {path}: permission denied") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CredentialError(f"token file {path}: cannot read ({type(error).__name__})") from None
    if not text:
        raise CredentialError(f"token file {path}: file is empty")
    warning = None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warning = f"token file {path} is readable by group or others; chmod 600 it"
    return Token(value=text, source=str(path), warning=warning)


def load_token(token_file: Path | None, environ: Mapping[str, str] | None = None) -> Token:
    """Find the API token; raise ``CredentialError`` when there is none or it is unreadable."""
    environment = os.environ if environ is None else environ
    if token_file is not None:
        return _read_token_file(token_file)
    credentials_directory = environment.get("CREDENTIALS_DIRECTORY")
    if credentials_directory:
        candidate = Path(credentials_directory) / CREDENTIAL_NAME
        if candidate.exists():
            return _read_token_file(candidate)
    if CONTAINER_SECRET.exists():
        return _read_token_file(CONTAINER_SECRET)
    value = environment.get(ENVIRONMENT_VARIABLE, "").strip()
    if value:
        return Token(value=value, source=ENVIRONMENT_VARIABLE)
    raise CredentialError(
        "no API token: set api.token_file, provide the systemd credential "
        f"'{CREDENTIAL_NAME}', mount {CONTAINER_SECRET}, or export {ENVIRONMENT_VARIABLE}"
    )
