"""Errors a user can fix, as opposed to bugs.

Every exception raised because of the input (a bad config value, an
unreadable video, a folder in the wrong layout, a damaged run, missing
weights) derives from `UserError`; its message names the value or file and
the fix. Recipes print such a message without a traceback and exit with
status 2 (`workout_runtime.cli.run_recipe`); anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the input that the user can fix; the message says how."""


class DatasetError(UserError, ValueError):
    """A dataset folder, manifest or split is missing, malformed or unusable."""


class RunError(UserError, RuntimeError):
    """A run folder or exported model is missing, incomplete, damaged, or already holds a finished run."""
