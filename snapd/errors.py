"""The error every command turns into one line per problem and exit code 2.

Apart from the composition root that raises it most, so that the commands which never
build a client (``config``, ``plan``) do not import the whole daemon to catch it.
"""

from __future__ import annotations


class UsageError(Exception):
    """A problem the operator must fix (token, state directory, arguments); exit 2.

    Each line is one problem and never contains the token; ``str()`` is the first.
    """

    def __init__(self, message: str, *more: str) -> None:
        super().__init__(message)
        self.lines = (message, *more)
