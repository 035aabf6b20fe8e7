"""snapd: scheduled, guarded snapshots for Hostinger VPS machines."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hostinger-snapd")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
