"""The daily job (`schedule run`): the draw at ``[schedule] run_at``, upkeep through the
day, delivery of the list, a checkpoint for the witnesses each day, and the lab's drop
folder swept every minute when ``[labs] drop_folder`` is set.

The draw is idempotent (`select` draws a day once), so a restart, a catch-up after
downtime or a second instance never doubles anything; only the process that made the
draw delivers it. After downtime the job draws today only: missed days stay undrawn and
show as "no draw (missed)" in `report reconcile`, and staff decide whether to draw them late.
One log line per action; no names, codes or results in the log.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from screening.config import Settings, run_at_time
from screening.services.plumbing.context import Context

if TYPE_CHECKING:
    from screening.services.daily.delivery import ListFiles

log = logging.getLogger("screening.schedule")
ContextFactory = Callable[[], Context]


@dataclass
class Upkeep:
    policy: bool = False
    anchors: list[str] = field(default_factory=list)
    revealed: list[date] = field(default_factory=list)
    swept: int = 0

    def lines(self) -> list[str]:
        lines = []
        if self.policy:
            lines.append("recorded the changed selection policy")
        if self.anchors:
            lines.append(f"committed anchors for {', '.join(self.anchors)}")
        if self.revealed:
            lines.append(f"revealed the keys of {', '.join(map(str, self.revealed))}")
        if self.swept:
            lines.append(f"{self.swept} overdue screening(s) became no-shows")
        return lines


def _run_at(settings: Settings) -> time:
    return time(*run_at_time(settings.schedule.run_at))


def trigger(settings: Settings) -> Any:
    """The APScheduler trigger of the draw: once every local day (daily/fire_times.py)."""
    from screening.services.daily.fire_times import daily_trigger

    return daily_trigger(_run_at(settings), settings.zone)


def next_fire_times(settings: Settings, now: datetime, count: int) -> list[datetime]:
    """The next ``count`` draw times after ``now``, aware, in the site's time zone."""
    from screening.core.run_times import fire_times

    later = fire_times(_run_at(settings), settings.zone, now)
    return [next(later) for _ in range(count)]


def run_time_today(settings: Settings, today: date) -> datetime:
    from screening.core.run_times import fire_time

    return fire_time(today, _run_at(settings), settings.zone)


def draw_if_due(ctx: Context) -> Any:
    """Today's draw once the run time has passed; the DrawView when this call made it,
    None when it is not time yet or the day is already drawn."""
    from screening.services import draws
    from screening.services.draws.view import drawn

    if ctx.now < run_time_today(ctx.settings, ctx.today):
        return None
    if drawn(ctx, ctx.today):
        return None
    view = draws.select_day(ctx)
    return view if view.created else None


def upkeep(ctx: Context) -> Upkeep:
    """What any write does first and last, on its own: the policy, anchors 12 periods
    ahead, reveals of days that are over, and overdue screenings swept to no-shows."""
    from screening.services.plumbing.ledger import LedgerWriter
    from screening.services.records.screenings import sweep_overdue
    from screening.services.records.sites import before_writing
    from screening.services.records.upkeep import commit_anchors, record_policy, reveal_due

    done = Upkeep()
    with ctx.database.write(ctx.site) as session:
        writer = LedgerWriter(session, ctx.actor, ctx.now, ctx.settings.zone)
        writer.check_clock()  # a clock behind the ledger is refused before anything is written
        notice = before_writing(session, writer, ctx.settings, ctx.now)
        if notice:
            log.warning(notice)
        done.policy = record_policy(session, writer, ctx.settings)
        done.anchors = commit_anchors(session, writer, ctx.settings, ctx.today)
        done.revealed = reveal_due(session, writer, ctx.settings, ctx.today)
        session.flush()
        done.swept = sweep_overdue(session, writer, ctx, ctx.now)
    return done


def next_deadline(ctx: Context) -> datetime | None:
    """The earliest deadline of a pending screening at the site still to come."""
    import sqlalchemy as sa
    from sqlmodel import col

    from screening.db.models import Client, Screening

    with ctx.database.read() as session:
        due = session.execute(
            sa.select(sa.func.min(Screening.due_by))
            .join(Client, col(Client.id) == Screening.client_id)
            .where(
                col(Client.site) == ctx.site,
                col(Screening.status) == "pending",
                col(Screening.due_by) >= ctx.now,
            )
        ).scalar_one()
    return due


class DailyJob:
    """The jobs `schedule run` keeps: each opens its own context (the clock read anew)."""

    def __init__(
        self, contexts: ContextFactory, list_files: ListFiles, scheduler: Any = None
    ) -> None:
        self.contexts = contexts
        self.list_files = list_files
        self.scheduler = scheduler

    def draw(self) -> None:
        """The cron job: today's draw once due, then its delivery and deadline."""
        if self._draw():
            self.deliver_due()
            self.plan_deadline()

    def _context(self) -> Context | None:
        """This tick's context, or None when the job may not work now (a role revoked
        while it runs, the database away): said in the log, and the next tick tries
        again."""
        try:
            return self.contexts()
        except Exception as error:
            log.error("the job cannot work now: %s", _reason(error))
            return None

    def _draw(self) -> bool:
        ctx = self._context()
        if ctx is None:
            return False
        from screening.services.draws import BeaconNotYet, BeaconUnavailable

        try:
            view = draw_if_due(ctx)
        except BeaconNotYet as wait:  # the day's beacon round is seconds away
            at = wait.ready_at.astimezone(ctx.settings.zone).strftime("%H:%M:%S %Z")
            log.info("waiting for the beacon: the draw of %s, at %s", ctx.today, at)
            self._plan_draw(wait.ready_at + _RELAY_LAG)
            return False
        except BeaconUnavailable as missing:  # relays down: again soon, not at upkeep
            log.error("the draw for %s failed: %s", ctx.today, missing)
            self._plan_draw(missing.retry_at)
            return False
        except Exception as error:  # logged; the next fire or upkeep tries again
            log.error("the draw for %s failed: %s", ctx.today, _reason(error))
            return False
        if view is None:
            return False
        log.log(
            logging.WARNING if view.beacon == "missing" else logging.INFO,
            "drew %s at %s: %d selected from a pool of %d%s",
            view.day,
            view.drawn_at.astimezone(ctx.settings.zone).strftime("%H:%M:%S %Z"),
            len(view.rows),
            view.pool_size,
            "; WITHOUT its beacon (flagged in audits)" if view.beacon == "missing" else "",
        )
        return True

    def upkeep(self) -> None:
        ctx = self._context()
        if ctx is None:
            return
        try:
            done = upkeep(ctx)
        except Exception as error:
            log.error("upkeep failed: %s", _reason(error))
            return
        for line in done.lines():
            log.info(line)
        # A draw missed because the process was busy or the database was away; then what
        # follows any draw, once.
        self._draw()
        self.deliver_due()
        self.plan_deadline()
        self.witness(bool(done.anchors))

    def witness(self, anchors: bool = False) -> None:
        """A checkpoint for the witnesses once a day (a draw makes its own), and at once
        when anchors were committed, so that they are witnessed the day they are made."""
        from screening.services.witness.publishing import publish_quietly

        ctx = self._context()
        if ctx is None:
            return
        published = publish_quietly(ctx.settings, ctx.database, ctx.now, daily=not anchors)
        if published is not None:
            log.info(
                "checkpoint of entries 1-%d delivered to %d witness(es)%s",
                published.checkpoint.size,
                len(published.delivered),
                f", not to {len(published.failed)}" if published.failed else "",
            )

    def plan_deadline(self) -> None:
        """Sweep again just after the next pending deadline, not minutes later."""
        if self.scheduler is None:
            return
        ctx = self._context()
        if ctx is None:
            return
        try:
            due = next_deadline(ctx)
        except Exception as error:
            log.error("cannot read the next deadline: %s", _reason(error))
            return
        if due is not None:
            self.scheduler.add_job(
                self.upkeep,
                "date",
                run_date=due + timedelta(seconds=1),
                id="deadline",
                replace_existing=True,
                misfire_grace_time=None,
            )

    def deliver_due(self) -> None:
        """Deliver today's list by every channel that has not had it yet and whose next
        attempt is due. What was delivered and tried is kept in a file beside the config
        (services/daily/delivery.py), so a restart neither loses a retry nor sends twice, and the
        list is rebuilt each time, with any amendment of the draw."""
        from screening.services import draws
        from screening.services.daily.delivery import Deliveries, channels, deliver

        ctx = self._context()
        if ctx is None:
            return
        settings = ctx.settings
        wanted = channels(settings)
        if not wanted:
            return
        with Deliveries(settings, ctx.now) as book:
            due = []
            for channel in wanted:
                state = book.state(ctx.today, channel)
                if state.done or state.gave_up(settings):
                    continue
                if state.next_at is not None and state.next_at > ctx.now:
                    self._plan_retry(state.next_at)
                    continue
                due.append(channel)
            if not due:
                return
            # Read (and recorded as read by the job's user: services/access/viewing.py)
            # only when some channel is to have it.
            try:
                view = draws.today(replace(ctx, command="schedule run"))
            except Exception as error:
                log.error("cannot read today's list to deliver it: %s", _reason(error))
                return
            if view is None:
                return
            for channel in due:
                try:
                    what = deliver(settings, view, channel, self.list_files)
                except Exception as error:  # every channel is tried, whatever one does
                    book.failed(view.day, channel, ctx.now)
                    state = book.state(view.day, channel)
                    left = settings.notify.retries + 1 - state.attempts
                    log.error(
                        "delivery of the list of %s by %s failed: %s; %s",
                        view.day,
                        channel,
                        _reason(error),
                        f"trying again in {settings.notify.retry_minutes} min "
                        f"({left} attempt(s) left)"
                        if left > 0
                        else "no attempts left: hand the list over with `screening today`",
                    )
                    if state.next_at is not None and left > 0:
                        self._plan_retry(state.next_at)
                    continue
                book.delivered(view.day, channel, ctx.now)
                log.info("delivered the list of %s: %s", view.day, what)

    def lab_files(self) -> None:
        """Every minute when `[labs] drop_folder` is set: the lab's new files imported
        and moved, a line each (services/results/drop_folder.py)."""
        from screening.services.results import log_sweep

        log_sweep(self.contexts, log)

    def _plan_draw(self, when: datetime) -> None:
        self._plan(self.draw, "draw-beacon", when)

    def _plan_retry(self, when: datetime) -> None:
        self._plan(self.deliver_due, "retry", when)

    def _plan(self, job: Callable[[], None], name: str, when: datetime) -> None:
        if self.scheduler is not None:
            self.scheduler.add_job(
                job, "date", run_date=when, id=name, replace_existing=True, misfire_grace_time=None
            )


# A round is on the relays a moment after its time: ask two seconds later.
_RELAY_LAG = timedelta(seconds=2)


def _reason(error: Exception) -> str:
    """What to log of an error: our own messages are safe to log; of anything else, only
    its type (its text might quote a row)."""
    from screening.errors import ScreeningError
    from screening.services.plumbing.transport import DeliveryFailed

    if isinstance(error, (ScreeningError, DeliveryFailed)):
        return str(error)
    return f"unexpected {type(error).__name__}"


def run(contexts: ContextFactory, list_files: ListFiles) -> None:
    """Block, drawing at run_at every day, until SIGTERM or SIGINT."""
    # APScheduler 3 ships without type hints (no py.typed, no stubs).
    from apscheduler.schedulers.blocking import BlockingScheduler  # type: ignore[import-untyped]
    from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

    settings = contexts().settings
    scheduler = BlockingScheduler(timezone=settings.zone)
    job = DailyJob(contexts, list_files, scheduler)
    # A late start (after downtime) catches up at once; a fire missed while the process
    # was busy runs once, however late in the day.
    scheduler.add_job(
        job.draw, trigger(settings), id="draw", coalesce=True, misfire_grace_time=None
    )
    scheduler.add_job(
        job.upkeep,
        IntervalTrigger(minutes=settings.schedule.upkeep_minutes, timezone=settings.zone),
        id="upkeep",
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=datetime.now(UTC),
    )
    if settings.labs.drop_folder is not None:
        scheduler.add_job(
            job.lab_files,
            IntervalTrigger(minutes=1, timezone=settings.zone),
            id="lab-files",
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),  # files that came while it was down: at once
        )

    stopping: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        if not stopping:  # a second signal while stopping changes nothing
            log.info("stopping on %s", signal.Signals(signum).name)
        stopping.append(signum)
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    fire = next_fire_times(settings, datetime.now(UTC), 1)
    log.info(
        "started for site %s: draws at %s %s (next %s)",
        settings.site.name,
        settings.schedule.run_at,
        settings.site.timezone,
        fire[0].isoformat() if fire else "never",
    )
    if not stopping:  # a signal before the start stops it here
        scheduler.start()
    log.info("stopped")
