"""A site's time zone changed on purpose (`site timezone ZONE --reason ...`, taking
effect when the next local day begins, the config edited to match) and `site show`."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from screening.core.canonical import private_digest
from screening.core.ledger import rfc3339
from screening.core.policy import zone_change_starts
from screening.db.models import SiteZone
from screening.errors import BadInput, EnvironmentProblem
from screening.services.records.sites import forget, known_sites, load, zone_changes


def change_timezone(ctx: Any, zone: str, reason: str) -> dict[str, Any]:
    """`screening site timezone ZONE --reason ...`: a ``site`` entry that moves the site
    to ``zone`` from the start of the next local day; the config is edited to match."""
    from screening.core import validate
    from screening.services.records.upkeep import writing

    try:
        zone = validate.clinic_zone(zone)
        why = validate.free_text(reason, "--reason")
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    with writing(ctx) as (session, writer):
        record = load(session, ctx.site)
        if record is None:
            raise EnvironmentProblem(f"site {ctx.site!r} is not in this database")
        old = record.zone_at(ctx.now)
        waiting = record.pending(ctx.now)
        if waiting is not None:
            raise BadInput(
                f"a change to {waiting[1]} already waits to take effect at "
                f"{waiting[0].astimezone(ZoneInfo(waiting[1])):%Y-%m-%d %H:%M %Z}; "
                "make another change after that"
            )
        if zone == old:
            raise BadInput(f"site {ctx.site!r} already keeps {zone}")
        starts = zone_change_starts(old, zone, ctx.today)
        entry = writer.append(
            ctx.site,
            "site",
            {
                "action": "timezone",
                "from": old,
                "timezone": zone,
                "starts_at": rfc3339(starts),
                "reason": private_digest(record.salt, why),
            },
        )
        session.add(
            SiteZone(
                site=ctx.site, timezone=zone, starts_at=starts, reason=why, ledger_seq=entry.seq
            )
        )
        forget(session, ctx.site)
    edited = edit_config_zone(ctx.settings.path, zone)
    return {
        "site": ctx.site,
        "from": old,
        "timezone": zone,
        "starts_at": starts,
        "local": starts.astimezone(ZoneInfo(zone)),
        "config_edited": edited,
        "entry": entry.seq,
    }


def edit_config_zone(path: Path, zone: str) -> bool:
    """Set ``timezone`` in the config's [site] table; False when it cannot be done."""
    try:
        text = path.read_text("utf-8")
    except OSError:
        return False
    pattern = re.compile(r'(?ms)^(\[site\][^\[]*?^timezone\s*=\s*)"[^"\n]*"')
    edited, count = pattern.subn(lambda m: f'{m.group(1)}"{zone}"', text, count=1)
    if count != 1:
        return False
    try:
        path.write_text(edited, "utf-8")
    except OSError:
        return False
    return True


def describe(ctx: Any) -> dict[str, Any]:
    """`site show`."""
    with ctx.database.read() as session:
        changes = zone_changes(session, ctx.site)
        held = known_sites(session)
    return {
        "site": ctx.site,
        "timezone": ctx.settings.site.timezone,
        "changes": [
            {
                "timezone": change["timezone"],
                "starts_at": change["starts_at"].isoformat(),
                "starts_local": _local(change["starts_at"], change["timezone"]),
                "entry": change["entry"],
                "waiting": change["starts_at"] > ctx.now,
            }
            for change in changes
        ],
        "sites": held,
    }


def _local(instant: datetime, zone: str) -> str:
    return f"{instant.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M %Z}"
