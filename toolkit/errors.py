"""Errors a user can fix: the toolkit's are those of the runtime it builds on (see `workout_runtime.errors`)."""

from workout_runtime.errors import DatasetError, RunError, UserError

__all__ = ["DatasetError", "RunError", "UserError"]
