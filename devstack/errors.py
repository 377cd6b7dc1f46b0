"""The local stack could not do what was asked (a server would not start, a port is taken)."""

from __future__ import annotations


class StackError(RuntimeError):
    """A local server could not be started or stopped."""
