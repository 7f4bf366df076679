"""`medsr metrics` (filled in by its owner module)."""

from medsr.cli.app import app  # noqa: F401
