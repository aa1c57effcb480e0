"""`screening report progress CODE --recipient NAME`: a letter on one client's progress
for a named recipient (a drug court, a parent, an employer), through the disclosure gate:
it says only what the consent in force shares, of the period it covers, with the §2.32
notice, and records the disclosure (a preview records none)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from screening.core import validate
from screening.core.disclosure import SHARES
from screening.core.letter import sections
from screening.errors import BadInput
from screening.services.disclosure.gate import Ask, Authority, Emit, disclose, program_name
from screening.services.plumbing.context import Context
from screening.services.progress import letter_facts

COMMAND = "report progress"
PREVIEW = "PREVIEW — not for release"


def progress_letter(
    ctx: Context,
    code: str,
    recipient: str,
    consent: int | None,
    purpose: str | None,
    first: str | None,
    last: str | None,
    form: str,
    preview: bool,
    emit: Emit,
) -> dict[str, Any]:
    """The letter's data, handed to ``emit`` inside the gate's transaction (a failed
    write records no disclosure), and returned."""
    try:
        start = validate.parse_date(first, "--from") if first else None
        end = validate.parse_date(last, "--to") if last else None
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    if start and end and start > end:
        raise BadInput(f"--from {start} is after --to {end}")
    ask = Ask(
        code=code,
        recipient=recipient,
        consent=consent,
        purpose=purpose,  # the gate checks it against the list
        needs=frozenset(),  # a letter goes with whatever the consent shares, and no more
        first=start,
        last=end,
        form=form,
        command=COMMAND,
        preview=preview,
    )

    def build(session: Session, authority: Authority) -> dict[str, Any]:
        return letter(session, ctx, authority, preview)

    return disclose(ctx, ask, build, emit)


def letter(session: Session, ctx: Context, authority: Authority, preview: bool) -> dict[str, Any]:
    """What the letter says: who it is about and for, the period, and each section the
    consent shares; a section it does not share is absent, not zero."""
    client = authority.client
    # Only what the consent covers (from its first day) and the period asked for (to its
    # last day): a run is counted within them, never from before or after.
    covered = [
        fact
        for fact in letter_facts(session, ctx, client)
        if authority.consent.covers_from <= fact.day <= authority.last
    ]
    found = sections(
        covered,
        authority.first,
        authority.last,
        authority.last,
        ctx.settings.results.missed_counts_as,
    )
    shares = [share for share in SHARES if share in authority.shares]
    data: dict[str, Any] = {
        "letter": "progress",
        "program": program_name(ctx),
        "site": ctx.site,
        "client": {"code": client.code, "name": client.name},
        "recipient": authority.recipient,
        "purpose": authority.purpose,
        # The purpose in the form's own words (the consent's --detail), when it has them.
        "purpose_as_written": authority.consent.detail
        if authority.purpose == authority.consent.purpose
        else None,
        "from": authority.first.isoformat(),
        "to": authority.last.isoformat(),
        "date": ctx.today.isoformat(),
        # The sections it carries: the gate checks them against the consent.
        "carries": shares,
        **{share: found[share] for share in shares},
        # The letter is signed by the clinician who makes it (the person at a shared
        # workstation, --actor, where one was named).
        "signed_by": {"name": ctx.actor.name or ctx.actor.user, "role": "clinician"},
    }
    if preview:
        data["mark"] = PREVIEW
    return data
