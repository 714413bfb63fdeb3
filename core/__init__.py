"""eiso's kernel: settings, auth, the QMS domain, plugins, the app factory and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("eiso")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
