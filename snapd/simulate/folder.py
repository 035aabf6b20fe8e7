"""Where a simulation keeps its ledger: in memory when the system offers a folder there.

The ledger of a simulation is thrown away at its end; on a file system in memory its
commits cost no flush to disk (thousands of them in a long simulation).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Linux's shared-memory file system, present on most systems and containers.
MEMORY_FOLDER = Path("/dev/shm")


def memory_folder() -> Path | None:
    """``MEMORY_FOLDER`` when it is a writable folder; else None (the usual temporary one)."""
    if MEMORY_FOLDER.is_dir() and os.access(MEMORY_FOLDER, os.W_OK | os.X_OK):
        return MEMORY_FOLDER
    return None
