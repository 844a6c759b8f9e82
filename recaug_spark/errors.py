"""The errors a user can cause, each rendered by the CLI as one line that names the cause and the fix."""

from __future__ import annotations

from collections.abc import Sequence


class RecaugError(Exception):
    """Base class for errors caused by input the user controls (config, paths, data, jars)."""


class ConfigError(RecaugError):
    """A configuration value is unknown, mistyped or invalid.

    Args:
        key: Dotted name of the offending key, e.g. ``source.events.path``.
        problem: What is wrong with it.
        origin: The file (or ``--set``) the value came from, when known.
    """

    def __init__(self, key: str, problem: str, origin: str | None = None) -> None:
        self.key = key
        self.problem = problem
        self.origin = origin
        where = f" (from {origin})" if origin else ""
        super().__init__(f"config key '{key}'{where}: {problem}")


class SchemaError(RecaugError):
    """A table or frame lacks columns a stage needs."""

    def __init__(self, table: str, missing: Sequence[str], present: Sequence[str]) -> None:
        self.table = table
        self.missing = list(missing)
        self.present = list(present)
        super().__init__(f"table '{table}' lacks column(s) {sorted(self.missing)}; it has {sorted(self.present)}")


class MissingJarsError(RecaugError):
    """The Delta Lake jars are neither in the cache nor given to spark-submit."""


class InputError(RecaugError):
    """Input data cannot be read at all (as opposed to bad rows, which go to quarantine)."""


class ArtifactError(RecaugError):
    """A model artifact is missing, tampered with or does not match the data."""


class LockedError(RecaugError):
    """Another process holds the lock this run needs (a refresh of the same input is running)."""


class StageNotBuiltError(RecaugError):
    """The stage exists in the CLI contract but is not implemented yet."""
