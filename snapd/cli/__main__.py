"""``python -m snapd.cli``: the same as the ``snapd`` console script."""

from __future__ import annotations

import sys

from snapd.cli.dispatch import main

sys.exit(main())
