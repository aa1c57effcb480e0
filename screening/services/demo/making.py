"""`screening demo DIR`: a sample clinic made in an empty folder, its two months of
history simulated (story.py), today's draw made and left for the README's examples,
and the example files its commands read. All of it, or nothing: a failure removes what
was made."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from screening.config import load, run_at_time
from screening.core.access import ADMIN, ROLES
from screening.db.engine import Database, resolve_url
from screening.errors import BadInput
from screening.services import access, results, site
from screening.services.demo import roster
from screening.services.demo.story import Story
from screening.services.plumbing import Actor, Context
from screening.services.results import Findings

README_REASON = "demo: a screening for the README's examples"


@dataclass(frozen=True)
class DemoClinic:
    folder: Path
    first_day: date
    today: date
    counts: dict[str, int]
    commands: list[tuple[str, str]] = field(default_factory=list)  # (command, what it shows)


def make_demo(folder: Path, os_user: str, now: datetime) -> DemoClinic:
    """The demo clinic in ``folder`` (made if missing; refused unless empty), its
    history ending at ``now``, the real time. Always SQLite, in the folder: a demo never
    writes into a database that real clinics share."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BadInput(
            f"{folder} exists and is not an empty folder; name a new folder for the demo"
        )
    made_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _make(folder.absolute(), Actor(os_user, roster.STAFF), now)
    except BaseException:
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        if made_folder:
            folder.rmdir()
        raise


def _make(folder: Path, actor: Actor, now: datetime) -> DemoClinic:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(roster.TIMEZONE)
    today = now.astimezone(zone).date()
    start = today - timedelta(days=roster.DAYS)
    opened = datetime.combine(start, time(5, 30), zone).astimezone(UTC)
    config = folder / "screening.toml"
    site.initialise(config, roster.SITE, roster.TIMEZONE, None, actor, opened)
    settings = load(config)
    database = Database(resolve_url(settings.database_url, settings.folder))
    try:
        story = Story(settings, database, actor, start, now, opened)
        # One transaction a day (as bench/generate.py writes): the services run as they
        # do for staff, and the day commits at its end, a checkpoint with it.
        with database.batch():
            # Whoever makes the demo tries every command: init made them its admin;
            # the other roles are theirs too (a real clinic grants each person what
            # their work needs: docs/access.md).
            access.grant(
                story.context(opened + timedelta(minutes=5)),
                actor.os_user,
                [role for role in ROLES if role != ADMIN],
            )
            # The clients in the program before the first day, enrolled that morning.
            enrolled = story.context(opened + timedelta(minutes=10))
            for client in roster.CLIENTS:
                if client.admitted <= 0:
                    story.enrol(enrolled, client)
        for offset in range(roster.DAYS):
            with database.batch():
                story.day(offset)
        with database.batch():
            _today(story, today)
    finally:
        database.dispose()
    for name, text in (
        (roster.LAB_REPORT_FILE, roster.EXAMPLE_LAB_REPORT),
        (
            roster.LAB_HL7_FILE,
            roster.example_lab_hl7(f"{story.real_now.astimezone(UTC):%Y%m%d%H%M%S}+0000"),
        ),
        (roster.NEW_CLIENTS_FILE, roster.EXAMPLE_NEW_CLIENTS),
    ):
        descriptor = os.open(folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    return DemoClinic(folder, start, today, dict(story.counts), _commands())


def _today(story: Story, today: date) -> None:
    """Today's draw, at the schedule's time when its deadline is still hours away
    (otherwise a little before now: as the daily job does after a restart), then what
    the front desk has done by now; the README's examples do the rest."""
    settings = story.settings
    hour, minute, second = run_at_time(settings.schedule.run_at)
    scheduled = story.moment(today, time(hour, minute, second))
    midnight = story.moment(today, time(0))
    hours = settings.policy.collect_within_hours
    if scheduled < story.real_now - timedelta(minutes=5) and story.real_now < scheduled + (
        timedelta(hours=max(hours - 3, 0))
    ):
        drawn_at = scheduled
    else:
        drawn_at = max(midnight, story.last, story.real_now - timedelta(minutes=10))
    steps: list[Any] = [story.draw]

    def for_the_readme(ctx: Context) -> None:
        codes = [*roster.OPEN_TODAY, roster.PRESUMPTIVE[0], roster.AT_THE_LAB[0]]
        wanted = [code for code in codes if code not in story.drawn]
        if wanted:
            results.for_cause(ctx, wanted, README_REASON)

    def presumptive(ctx: Context) -> None:
        code, specimen = roster.PRESUMPTIVE
        findings = Findings(positive=story.prescribed(code), levels={"THC": "80"})
        results.record(ctx, code, findings, specimen_id=specimen, temperature_ok=True)

    def to_lab(ctx: Context) -> None:
        code, specimen = roster.AT_THE_LAB
        results.record(ctx, code, Findings(), sent_to_lab=True, method="lab", specimen_id=specimen)

    steps += [for_the_readme, presumptive, to_lab]
    # Half of the others drawn today have given their specimen; the rest are pending.
    named = {*roster.OPEN_TODAY, roster.PRESUMPTIVE[0], roster.AT_THE_LAB[0]}

    def others(ctx: Context) -> None:
        for code in sorted(story.drawn - named)[::2]:
            story.record(ctx, code)

    steps.append(others)
    # Spaced evenly from the draw to a minute before now, so that nothing is after it.
    room = max(story.real_now - timedelta(minutes=1) - drawn_at, timedelta(0))
    step = room / len(steps)
    for n, action in enumerate(steps):
        moment = (drawn_at + step * n).replace(microsecond=0)
        action(story.context(moment))


def _commands() -> list[tuple[str, str]]:
    return [
        ("screening today", "today's list, with what is still pending"),
        (f"screening timeline {roster.TIMELINE}", "a dilute specimen, a no-show, a new phase"),
        ("screening report team --sort flags", "one row per client, who needs a look first"),
        ("screening report reconcile", "the last two weeks: drawn, collected, missed"),
        (
            f"screening report progress {roster.TIMELINE} --recipient '{roster.COURT}' --preview",
            "the drug court's letter, as the consent allows",
        ),
        ("screening audit disclosures", "every disclosure made, as 42 CFR 2.25 asks"),
        ("screening audit verify", "every hash, link, key and draw"),
    ]
