"""What the two forms of a lab's file (CSV and HL7 v2) share: the results they name,
found by specimen id at this site; how near the lab's collection time must be to the
clinic's; how a refused file is said; and the dry run's roll back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from screening.db.models import Client, Result, Screening
from screening.errors import BadInput, RowErrors
from screening.services.plumbing.context import Context
from screening.services.results.versions import CHUNK

# A lab's clock and ours may differ a little; more than this is a different specimen.
SAME_COLLECTION = timedelta(hours=1)


class DryRun(Exception):
    """Raised inside the transaction to roll back a dry run that went through; its
    argument is what the import would have said."""


def refused(path: Path, problems: list[tuple[int, str]]) -> RowErrors:
    """A file refused whole: its problems in file order, each naming its line."""
    problems.sort()
    return RowErrors(
        f"{path}: {len(problems)} problem{'s' * (len(problems) > 1)}; nothing was imported. "
        "Fix them (or ask the lab to send the file again) and import the whole file again",
        [text for _, text in problems],
    )


def results_by_specimen(
    session: Any, ctx: Context, specimens: set[str]
) -> tuple[dict[str, Result], list[tuple[Screening, Client]]]:
    """The site's results by specimen id, and their screenings and clients: the session
    holds its objects weakly, so the caller keeps these for the amendments to find in
    the session without asking the database."""
    found: dict[str, Result] = {}
    kept: list[tuple[Screening, Client]] = []
    given: dict[str, list[str]] = {}
    for text in specimens:  # a label is one label whatever its case
        given.setdefault(text.lower(), []).append(text)
    ordered = sorted(given)
    folded = sa.func.lower(col(Result.specimen_id))
    for start in range(0, len(ordered), CHUNK):
        for result, screening, client in session.exec(
            select(Result, Screening, Client)
            .join(Screening, col(Screening.id) == Result.screening_id)
            .join(Client, col(Client.id) == Screening.client_id)
            # The site is checked here, not in SQL: given it, SQLite may plan to read every
            # screening of the site (seconds on a long history) rather than go by specimen.
            .where(folded.in_(ordered[start : start + CHUNK]))
        ):
            if client.site == ctx.site and result.specimen_id is not None:
                for text in given[result.specimen_id.lower()]:
                    other = found.get(text)
                    if other is not None and other.id != result.id:
                        raise BadInput(
                            f"specimen id {text!r} matches two collections whose labels "
                            f"differ only in case ({other.specimen_id}, "
                            f"{result.specimen_id}), recorded before labels were compared "
                            "without case; record this report by hand with `results amend`"
                        )
                    found[text] = result
                kept.append((screening, client))
    # Each result also under its label as recorded: one specimen, one key, however the
    # lab spelled it.
    found.update({r.specimen_id: r for r in list(found.values()) if r.specimen_id})
    return found, kept


def other_sites(session: Any, ctx: Context, specimens: set[str]) -> set[str]:
    """Of these labels, the ones recorded at another site of the network (any case)."""
    given: dict[str, list[str]] = {}
    for text in specimens:
        given.setdefault(text.lower(), []).append(text)
    ordered = sorted(given)
    folded = sa.func.lower(col(Result.specimen_id))
    found: set[str] = set()
    for start in range(0, len(ordered), CHUNK):
        for specimen, site in session.exec(
            select(Result.specimen_id, Client.site)
            .join(Screening, col(Screening.id) == Result.screening_id)
            .join(Client, col(Client.id) == Screening.client_id)
            .where(folded.in_(ordered[start : start + CHUNK]))
        ):
            if site != ctx.site and specimen is not None:
                found.update(given[specimen.lower()])
    return found
