"""Placeholder: being written now (issue 4)."""

from . import bp  # noqa: F401
