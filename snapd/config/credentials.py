"""Where the Hostinger API token comes from, in order of precedence.

1. ``$CREDENTIALS_DIRECTORY/hostinger-api-token`` (systemd ``LoadCredential=``), when the
   directory is set and holds it: what the service manager handed over wins, because the
   service's dynamic user could not read a root-owned ``api.token_file`` anyway;
2. ``api.token_file`` from the policy;
3. ``/run/secrets/hostinger_api_token`` (Docker and Compose secrets);
4. the ``HOSTINGER_API_TOKEN`` environment variable.

An account of a policy's ``accounts`` list (``load_account_token``) reads its own token from
``$CREDENTIALS_DIRECTORY/hostinger-api-token-NAME``, its ``token_file``, or
``HOSTINGER_API_TOKEN_NAME`` (the name upper-cased, ``-`` and ``.`` as ``_``), in that order:
no account falls back on another's token.

The token never appears in a message raised from here: errors name the file, not its content.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    #: Where it came from in words, for a message about a refused token.
    origin: str = ""

    def __repr__(self) -> str:
        return f"Token(source={self.source!r}, value='***')"

    __str__ = __repr__


def read_secret_file(path: Path, what: str) -> str:
    """The stripped text of a secret file (``what`` names it in errors: "token file",
    "ledger password file"); raise ``CredentialError`` (one line, never the content) when
    it cannot be read or is empty."""
    try:
        # Windows editors start a UTF-8 file with a byte-order mark; it is not part of
        # the secret, and left in a token it would be refused as a "control character".
        text = path.read_text(encoding="utf-8-sig").strip()
    except FileNotFoundError:
        raise CredentialError(f"{what} {path}: file not found") from None
    except PermissionError:
        raise CredentialError(f"{what} {path}: permission denied") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CredentialError(f"{what} {path}: cannot read ({type(error).__name__})") from None
    if not text:
        raise CredentialError(f"{what} {path}: file is empty")
    return text


def _read_token_file(path: Path) -> Token:
    text = read_secret_file(path, "token file")
    try:
        status = path.stat()
    except OSError as error:
        raise CredentialError(f"token file {path}: cannot read ({type(error).__name__})") from None
    warning = None
    if _readable_by_others(status):
        warning = f"token file {path} is readable by group or others; chmod 600 it"
    return Token(value=text, source=str(path), warning=warning)


def _readable_by_others(status: os.stat_result) -> bool:
    """Whether anyone but snapd's own user and group can read the file.

    A file readable by the group snapd runs as is not exposed: that is how a Kubernetes
    Secret arrives under ``fsGroup`` (group-readable, owned by the pod's group) and how a
    root-owned ``0640 root:snapd`` file is shared with a service user.
    """
    if status.st_mode & stat.S_IROTH:
        return True
    return bool(status.st_mode & stat.S_IRGRP) and status.st_gid != os.getegid()


def handed_over(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$CREDENTIALS_DIRECTORY/hostinger-api-token`` when the service manager handed the
    token over (the variable is set and the file exists), else None."""
    environment = os.environ if environ is None else environ
    credentials_directory = environment.get("CREDENTIALS_DIRECTORY")
    if not credentials_directory:
        return None
    candidate = Path(credentials_directory) / CREDENTIAL_NAME
    return candidate if candidate.exists() else None


def load_token(token_file: Path | None, environ: Mapping[str, str] | None = None) -> Token:
    """Find the API token in the order of the module's docstring.

    ``environ`` (the process environment when None) supplies ``CREDENTIALS_DIRECTORY`` and
    ``HOSTINGER_API_TOKEN``. Raises ``CredentialError`` when there is none or it is
    unreadable.
    """
    environment = os.environ if environ is None else environ
    credential = handed_over(environment)
    if credential is not None:
        origin = f"the systemd credential {CREDENTIAL_NAME} ({credential})"
        return replace(_read_token_file(credential), origin=origin)
    if token_file is not None:
        return replace(_read_token_file(token_file), origin=f"api.token_file {token_file}")
    if CONTAINER_SECRET.exists():
        origin = f"the mounted secret {CONTAINER_SECRET}"
        return replace(_read_token_file(CONTAINER_SECRET), origin=origin)
    value = environment.get(ENVIRONMENT_VARIABLE, "").strip()
    if value:
        origin = f"the environment variable {ENVIRONMENT_VARIABLE}"
        return Token(value=value, source=ENVIRONMENT_VARIABLE, origin=origin)
    raise CredentialError(
        "no API token: set api.token_file, provide the systemd credential "
        f"'{CREDENTIAL_NAME}', mount {CONTAINER_SECRET}, or export {ENVIRONMENT_VARIABLE}"
    )


def account_environment_variable(account: str) -> str:
    """``HOSTINGER_API_TOKEN_NAME``: the environment variable of ``account``'s token."""
    suffix = account.upper().replace("-", "_").replace(".", "_")
    return f"{ENVIRONMENT_VARIABLE}_{suffix}"


def load_account_token(
    account: str, token_file: Path | None, environ: Mapping[str, str] | None = None
) -> Token:
    """The token of ``account`` ("": the policy's one account, see ``load_token``), in the
    order of the module's docstring. Raises ``CredentialError`` naming the account."""
    if not account:
        return load_token(token_file, environ)
    environment = os.environ if environ is None else environ
    credentials_directory = environment.get("CREDENTIALS_DIRECTORY")
    if credentials_directory:
        candidate = Path(credentials_directory) / f"{CREDENTIAL_NAME}-{account}"
        if candidate.exists():
            origin = f"the systemd credential {CREDENTIAL_NAME}-{account} ({candidate})"
            return replace(_read_token_file(candidate), origin=origin)
    if token_file is not None:
        origin = f"account {account}'s token_file {token_file}"
        return replace(_read_token_file(token_file), origin=origin)
    variable = account_environment_variable(account)
    value = environment.get(variable, "").strip()
    if value:
        return Token(value=value, source=variable, origin=f"the environment variable {variable}")
    raise CredentialError(
        f"no API token for account {account}: set its token_file, provide the systemd "
        f"credential '{CREDENTIAL_NAME}-{account}', or export {variable}"
    )
