"""Exceptions that carry the exit code a user sees (DESIGN §7).

Services raise these with a message written for clinic staff: what is wrong and how to
fix it, on one line, with no patient data beyond what the user just typed.
"""

from __future__ import annotations


class ScreeningError(Exception):
    """Base class: a message for the user and the process exit code."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CheckFailed(ScreeningError):
    """A verification found a problem (exit 1)."""

    exit_code = 1


class BadInput(ScreeningError):
    """Bad input or usage (exit 2)."""

    exit_code = 2


class EnvironmentProblem(ScreeningError):
    """No config, no database, schema out of date, key unreadable, server down (exit 3)."""

    exit_code = 3


class NotPermitted(ScreeningError):
    """Not permitted for this actor's role (exit 4)."""

    exit_code = 4


class RowErrors(BadInput):
    """Several problems in one input file, each tied to a line and column."""

    def __init__(self, summary: str, problems: list[str]) -> None:
        super().__init__(summary)
        self.problems = problems
