"""The demo clinic's two months, day by day, through the same services the commands
call: each step gets a `Context` at its simulated instant, and the instants only go
forward (the ledger refuses a clock behind it), the last no later than the real now.

Every day: the draw at the schedule's time; specimens through the day, mostly negative;
misses swept at their deadline; a last write in the evening, which reveals the key of
the day before. Set in the script: a dilute specimen and its observed recollection, a
presumptive positive confirmed by the lab, a specimen sent to the lab and its report
imported, a no-show recorded and one left to its deadline, a refusal, an excusal, a
for-cause screening, a hold, a closure, late admissions, a phase change and a discharge.
Who shows up and what the cup reads otherwise comes from a digest of the day, the client
and the question (made-up behaviour, the same for the same day; never the random module,
which selection must not touch: DESIGN §5); who is drawn is what the real draw gives.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from screening.config import Settings, run_at_time
from screening.db.engine import Database
from screening.services import clients, disclosure, draws, results
from screening.services.demo import roster
from screening.services.plumbing import Actor, Context
from screening.services.results import Findings

Step = Callable[[Context], Any]
NO_SHOW_SHARE = 0.04  # a drawn client who does not come, left to the deadline
POSITIVE_SHARE = 0.05  # an unexpected THC positive on the cup
WINDOW = 8  # days a scripted event waits for its client to be drawn
FOR_CAUSE_DAY = 36


@dataclass(frozen=True)
class Scripted:
    """Something that happens to ``code`` at its first draw on or after ``day`` (the
    offset from the first simulated day), or by a for-cause screening ``WINDOW`` days on."""

    kind: str
    code: str
    day: int


SCRIPT = (
    Scripted("dilute", "C-113", 8),
    Scripted("presumptive", "C-109", 14),
    Scripted("excused", "C-106", 20),
    Scripted("no_show", "C-113", 24),
    Scripted("lab", "C-116", 26),
    Scripted("recorded_no_show", "C-108", 30),
    Scripted("refused", "C-102", 33),
)


class _Printed:
    """The demo's letters, printed and handed over: the data as JSON stands for them."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.payload = json.dumps(data, sort_keys=True, default=str).encode("utf-8")

    def release(self) -> None:
        """Nothing to put in place: the letter left on paper."""

    def discard(self) -> None:
        """Nothing was written."""


@dataclass
class Story:
    settings: Settings
    database: Database
    actor: Actor
    start: date
    real_now: datetime
    last: datetime
    waiting: list[Scripted] = field(default_factory=lambda: list(SCRIPT))
    later: list[tuple[date, time, Step]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    drawn: set[str] = field(default_factory=set)  # pending from the day's draw

    @property
    def zone(self) -> Any:
        return self.settings.zone

    def moment(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, self.zone).astimezone(UTC)

    def context(self, moment: datetime) -> Context:
        moment = max(moment, self.last)
        if moment > self.real_now:
            raise AssertionError("the demo would write after the real now")
        self.last = moment
        local = moment.astimezone(self.zone).date()
        return Context(self.settings, self.database, self.actor, moment, local)

    def count(self, what: str, how_many: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + how_many

    def run(self, steps: list[tuple[datetime, Step]]) -> None:
        for moment, step in sorted(steps, key=lambda pair: pair[0]):
            step(self.context(moment))

    # --- one simulated day -------------------------------------------------------

    def day(self, offset: int) -> None:
        day = self.start + timedelta(days=offset)
        at = self.moment
        steps: list[tuple[datetime, Step]] = [
            (at(day, time(6)), lambda ctx: self.admin(ctx, offset)),
        ]
        hour, minute, second = run_at_time(self.settings.schedule.run_at)
        self.run([*steps, (at(day, time(hour, minute, second)), self.draw)])
        steps = []
        for code in sorted(self.drawn):
            steps += self.collection(day, offset, code)
        steps += self.fallbacks(day, offset)
        if offset == FOR_CAUSE_DAY:
            steps += self.for_cause(day)
        steps += [(at(day, when), step) for due, when, step in self.later if due == day]
        self.later = [item for item in self.later if item[0] != day]
        # The evening's write: overdue screenings become no-shows, yesterday's key is
        # revealed (what the daily job's upkeep does).
        steps.append((at(day, time(19)), draws.reveal))
        self.run(steps)

    def draw(self, ctx: Context) -> None:
        view = draws.select_day(ctx)
        self.count("draws")
        self.drawn = {row["code"] for row in view.rows if row["status"] == "pending"}

    def admin(self, ctx: Context, offset: int) -> None:
        """Enrolments on the day of admission, and the office's changes."""
        for client in roster.CLIENTS:
            if client.admitted == offset and offset > 0:
                self.enrol(ctx, client)
        day = self.start + timedelta(days=offset)
        if offset == 30:
            clients.hold(
                ctx,
                "C-117",
                (day + timedelta(days=1)).isoformat(),
                (day + timedelta(days=7)).isoformat(),
                "hospital stay",
            )
            self.count("holds")
        elif offset == 38:
            draws.close(ctx, (day + timedelta(days=7)).isoformat(), "staff training")
            self.count("closures")
        elif offset == 40:
            clients.update(ctx, "C-113", phase="2")
        elif offset == 50:
            clients.discharge(ctx, "C-120", reason="completed program")
        if offset == 1:
            self.consents(ctx, day)
        elif offset > 1 and day.day == 1:
            self.monthly_letter(ctx, day)

    def consents(self, ctx: Context, day: date) -> None:
        """The consents signed at intake (42 CFR 2.31, 2.35), recorded the next morning."""
        signed = (day - timedelta(days=1)).isoformat()
        disclosure.add_consent(
            ctx,
            roster.TIMELINE,
            type="criminal_justice",
            recipient=roster.COURT,
            recipient_class=None,
            purpose="monitoring",
            detail="progress reports to the drug court program",
            shares="attendance,results,missed,progress",
            expires=(day + timedelta(days=180)).isoformat(),
            signed=signed,
            signed_by="client",
            how_to_revoke="in writing to the program director, once revocable",
            revocable_from=(day + timedelta(days=120)).isoformat(),
            covers_from=None,
        )
        code, parent = roster.PARENT
        disclosure.add_consent(
            ctx,
            code,
            type="named",
            recipient=parent,
            recipient_class=None,
            purpose="family_involvement",
            detail=None,
            shares="attendance",
            expires="end-of-treatment",
            signed=signed,
            signed_by="client",
            how_to_revoke="in writing or in person, to any counselor",
            revocable_from=None,
            covers_from=None,
        )
        self.count("consents", 2)

    def monthly_letter(self, ctx: Context, day: date) -> None:
        """The drug court's letter on the month before, sent on the first."""
        last = day - timedelta(days=1)
        disclosure.progress_letter(
            ctx,
            roster.TIMELINE,
            roster.COURT,
            None,
            None,
            max(last.replace(day=1), self.start).isoformat(),
            last.isoformat(),
            "html",
            False,
            _Printed,  # handed to the court on paper
        )
        self.count("letters")

    def enrol(self, ctx: Context, client: roster.Enrolment) -> None:
        admitted = self.start + timedelta(days=client.admitted)
        clients.add(
            ctx,
            client.code,
            client.track,
            client.phase,
            name=client.name,
            admitted=admitted.isoformat(),
            medications=list(client.medications),
        )
        self.count("clients")

    # --- specimens -------------------------------------------------------------------

    def collection(self, day: date, offset: int, code: str) -> list[tuple[datetime, Step]]:
        when = self.moment(day, time(8)) + timedelta(minutes=_share(day, code, "when", 480))
        scripted = next((s for s in self.waiting if s.code == code and s.day <= offset), None)
        if scripted is not None:
            self.waiting.remove(scripted)
            return self.scripted(scripted, day, when)
        if _share(day, code, "no-show", 1000) < NO_SHOW_SHARE * 1000:
            self.count("no-shows")
            return []
        if _share(day, code, "positive", 1000) < POSITIVE_SHARE * 1000:
            level = str(60 + _share(day, code, "level", 180))
            return [(when, lambda ctx: self.record(ctx, code, levels={"THC": level}))]
        return [(when, lambda ctx: self.record(ctx, code))]

    def for_cause(self, day: date) -> list[tuple[datetime, Step]]:
        """Staff see a client impaired in group and ask for a specimen at once: the first
        of a few who was not drawn today (one open screening each, so no --screening)."""
        code = next(c for c in ("C-104", "C-110", "C-118", "C-101") if c not in self.drawn)

        def ask(ctx: Context) -> None:
            results.for_cause(ctx, [code], "observed impairment")
            self.count("for-cause")

        when = self.moment(day, time(10))
        return [(when, ask), (when + timedelta(minutes=25), lambda ctx: self.record(ctx, code))]

    def fallbacks(self, day: date, offset: int) -> list[tuple[datetime, Step]]:
        """A scripted event whose client was not drawn in its window happens on a
        for-cause screening, so that the demo always holds it."""
        steps: list[tuple[datetime, Step]] = []
        for scripted in [s for s in self.waiting if s.day + WINDOW <= offset]:
            self.waiting.remove(scripted)
            when = self.moment(day, time(15))

            def ask(ctx: Context, code: str = scripted.code) -> None:
                results.for_cause(ctx, [code], "asked by the counsellor")
                self.count("for-cause")

            steps.append((when, ask))
            later = self.scripted(scripted, day, when + timedelta(minutes=20))
            steps += later
        return steps

    def scripted(self, event: Scripted, day: date, when: datetime) -> list[tuple[datetime, Step]]:
        code = event.code
        if event.kind == "dilute":
            # 49 CFR 40.197(b)(1): a dilute negative, creatinine 2-5 mg/dL, is collected
            # again at once under direct observation.
            return [
                (when, lambda ctx: self.record(ctx, code, creatinine="3.1", sg="1.0020")),
                (
                    when + timedelta(minutes=40),
                    lambda ctx: self.record(ctx, code, observed=True),
                ),
            ]
        if event.kind == "presumptive":
            return [(when, lambda ctx: self.presumptive(ctx, code, day))]
        if event.kind == "lab":
            return [(when, lambda ctx: self.to_lab(ctx, code, day))]
        if event.kind == "no_show":
            self.count("no-shows")
            return []
        if event.kind == "recorded_no_show":
            return [(when, lambda ctx: self.mark(ctx, code, "no_show"))]
        if event.kind == "refused":
            return [(when, lambda ctx: self.mark(ctx, code, "refused", reason="declined"))]
        return [
            (
                when,
                lambda ctx: self.mark(
                    ctx, code, "excused", reason="medical", approved_by=roster.APPROVER
                ),
            )
        ]

    def mark(self, ctx: Context, code: str, status: str, **details: Any) -> None:
        results.mark(ctx, code, status, **details)
        self.count(status.replace("_", "-"))

    def record(
        self,
        ctx: Context,
        code: str,
        *,
        levels: dict[str, str] | None = None,
        creatinine: str | None = None,
        sg: str | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        findings = Findings(
            positive=list(self.prescribed(code)),
            levels=dict(levels or {}),
            creatinine=creatinine,
            specific_gravity=sg,
        )
        if "screening_id" not in details:  # a for-cause one left to its deadline (a
            # scripted no-show) may be open the day they are drawn: staff name today's
            details["screening_id"] = _newest_of_several(ctx, code)
        done = results.record(ctx, code, findings, **details)
        self.count("collections")
        return done

    @staticmethod
    def prescribed(code: str) -> list[str]:
        client = next(c for c in roster.CLIENTS if c.code == code)
        return [a for m in client.medications for a in roster.PRESCRIBED.get(m, ())]

    def presumptive(self, ctx: Context, code: str, day: date) -> None:
        """THC over the screen cutoff on the cup; the lab confirms it two days later."""
        done = self.record(ctx, code, levels={"THC": "120"}, specimen_id="SP-0107")

        def confirm(later: Context) -> None:
            results.amend(
                later,
                done["result"],
                "lab_confirmation",
                Findings(levels={"THC": "64"}, confirmed=True),
                lab_report_id="R-2026-0311",
            )
            self.count("lab confirmations")

        self.later.append((day + timedelta(days=2), time(16), confirm))

    def to_lab(self, ctx: Context, code: str, day: date) -> None:
        """A specimen sent to the lab, and the lab's report imported two days later."""
        specimen = "LAB-6402"
        self.record(ctx, code, sent_to_lab=True, method="lab", specimen_id=specimen)
        report = roster.lab_report(specimen, "R-2026-0377", {"COC": ("380", "100")})

        def imported(later: Context) -> None:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "lab-report.csv"
                path.write_text(report, encoding="utf-8")
                results.import_lab(later, path)
            self.count("lab confirmations")

        self.later.append((day + timedelta(days=2), time(16, 30), imported))


def _share(day: date, code: str, question: str, size: int) -> int:
    """A made-up client's behaviour on a made-up day: a number below ``size``, the same
    for the same day, client and question."""
    digest = hashlib.sha256(f"demo/{day}/{code}/{question}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % size


def _newest_of_several(ctx: Context, code: str) -> int | None:
    """The client's newest open screening when they have several, else None."""
    import sqlalchemy as sa
    from sqlmodel import col

    from screening.db.models import Client, Screening

    with ctx.database.read() as session:
        found = (
            session.execute(
                sa.select(col(Screening.id))
                .join(Client, col(Client.id) == Screening.client_id)
                .where(col(Client.site) == ctx.site, col(Client.code) == code)
                .where(col(Screening.status) == "pending")
                .order_by(col(Screening.day).desc(), col(Screening.id).desc())
            )
            .scalars()
            .all()
        )
    return found[0] if len(found) > 1 else None
