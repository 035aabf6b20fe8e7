"""``python -m snapd.fakeapi``: run the fake Hostinger API standalone."""

from __future__ import annotations

import argparse
import sys

from snapd.fakeapi.command import add_arguments, run


def main() -> int:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m snapd.fakeapi",
        description="Serve a fake Hostinger VPS API for tests and demonstrations.",
    )
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
