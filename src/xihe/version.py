"""The one version number of Xihe (read from the installed package metadata)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xihe")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"
