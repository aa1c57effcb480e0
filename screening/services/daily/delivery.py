"""Delivering the day's list once drawn ([notify]): files, a command, e-mail.

Each channel is tried on its own; a failure is returned (the daily job logs it and tries
again later) and never touches the draw, which is already committed. What a channel
says of a failure never includes a client's name or code.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from screening.config import Settings
from screening.errors import ScreeningError
from screening.services.draws.view import LIST_COLUMNS as COLUMNS
from screening.services.draws.view import DrawView
from screening.services.plumbing.outputs import DELIVERY_BOOK
from screening.services.plumbing.transport import DeliveryFailed, run_command, send_email

BOOK = DELIVERY_BOOK
KEEP_DAYS = 14


def channels(settings: Settings) -> list[str]:
    notify = settings.notify
    return [
        name
        for name, wanted in (
            ("files", notify.directory),
            ("command", notify.command),
            ("email", notify.smtp and notify.smtp.to),
        )
        if wanted
    ]


def payload(view: DrawView) -> dict[str, Any]:
    return {
        "site": view.site,
        "date": view.day.isoformat(),
        "drawn_at": view.drawn_at.isoformat(),
        "late": view.late,
        "closed": view.closed,
        "pool": view.pool_size,
        "selected": [
            {key: row[key] for key, _ in COLUMNS} | {"due_by": row["due_by"]} for row in view.rows
        ],
    }


class ListFiles(Protocol):
    """What the "files" channel writes: the list's CSV text and HTML page, from the rows
    and their columns, and the site and day the printed page names. The daily
    job is handed one by the command that starts it (render/day_list.py), as services do
    not render."""

    def __call__(
        self,
        rows: list[dict[str, Any]],
        columns: list[tuple[str, str]],
        *,
        site: str,
        day: date,
    ) -> tuple[str, str]: ...


def deliver(settings: Settings, view: DrawView, channel: str, list_files: ListFiles) -> str:
    """Deliver by one channel; returns what was done, in words fit for the log."""
    if channel == "files":
        return _to_files(settings, view, list_files)
    if channel == "command":
        return _to_command(settings, view)
    if channel == "email":
        return _by_email(settings, view)
    raise ValueError(channel)


def _to_files(settings: Settings, view: DrawView, list_files: ListFiles) -> str:
    from screening.services.plumbing.outputs import guard

    assert settings.notify.directory is not None  # the channel exists only when it is set
    folder = Path(settings.notify.directory)
    if not folder.is_absolute():
        folder = settings.folder / folder
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as error:
        raise DeliveryFailed(f"cannot create {folder}: {error.strerror}") from None
    name = f"screening-{view.site}-{view.day.isoformat()}"
    csv_text, html = list_files(view.rows, COLUMNS, site=view.site, day=view.day)
    try:
        files = guard(settings)
        files.write(folder / f"{name}.csv", csv_text, "[notify] directory", "the list")
        files.write(folder / f"{name}.html", html, "[notify] directory", "the list")
    except ScreeningError as error:  # says what went wrong, without content
        raise DeliveryFailed(error.message) from None
    except OSError as error:
        raise DeliveryFailed(f"cannot write to {folder}: {error.strerror}") from None
    return f"files {name}.csv and .html in {folder}"


def _to_command(settings: Settings, view: DrawView) -> str:
    return run_command(list(settings.notify.command or []), json.dumps(payload(view)))


def _by_email(settings: Settings, view: DrawView) -> str:
    smtp = settings.notify.smtp
    assert smtp is not None
    return send_email(
        settings,
        smtp.to,
        f"Screening list for {view.day} ({view.site})",
        _email_text(view, smtp.include_names),
    )


def _email_text(view: DrawView, include_names: bool) -> str:
    lines = [
        f"Screening list for {view.day} at site {view.site}: {len(view.rows)} selected "
        f"from a pool of {view.pool_size}.",
        "",
    ]
    for row in view.rows:
        who = f"{row['code']} {row['name']}" if include_names and row["name"] else row["code"]
        lines.append(
            f"{who}  ({row['track']}, phase {row['phase']}): collect by {row['collect_by']}"
        )
    if not view.rows:
        lines.append("Nobody is selected today.")
    lines += [
        "",
        "Substance-use treatment record (42 CFR Part 2): do not forward or redisclose.",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Attempts:
    attempts: int = 0
    done: bool = False
    next_at: datetime | None = None

    def gave_up(self, settings: Settings) -> bool:
        return self.attempts > settings.notify.retries


class Deliveries:
    """What has been delivered, and tried, per day and channel: a small JSON file beside
    the config (0600), locked while in use so two processes never deliver the same list
    twice. It holds dates and channel names only."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.path = settings.folder / BOOK
        self.settings, self.now = settings, now
        self.site = settings.site.name
        self._book: dict[str, dict[str, dict[str, Any]]] = {}

    def __enter__(self) -> Deliveries:
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self._file = os.fdopen(descriptor, "r+", encoding="utf-8")
        fcntl.flock(self._file, fcntl.LOCK_EX)
        text = self._file.read()
        try:
            self._book = json.loads(text) if text.strip() else {}
        except ValueError:
            self._book = {}  # a damaged book: at worst a list is delivered again
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        oldest = (self.now - timedelta(days=KEEP_DAYS)).date().isoformat()
        kept = {key: value for key, value in self._book.items() if key.split()[-1] >= oldest}
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps(kept, sort_keys=True, indent=1))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()  # releases the lock

    def _entry(self, day: date, channel: str) -> dict[str, Any]:
        return self._book.setdefault(f"{self.site} {day.isoformat()}", {}).setdefault(
            channel, {"attempts": 0, "done": False, "next_at": None}
        )

    def state(self, day: date, channel: str) -> Attempts:
        entry = self._entry(day, channel)
        next_at = entry.get("next_at")
        return Attempts(
            int(entry.get("attempts", 0)),
            bool(entry.get("done")),
            datetime.fromisoformat(next_at) if next_at else None,
        )

    def delivered(self, day: date, channel: str, now: datetime) -> None:
        entry = self._entry(day, channel)
        entry.update(attempts=entry.get("attempts", 0) + 1, done=True, next_at=None)

    def failed(self, day: date, channel: str, now: datetime) -> None:
        entry = self._entry(day, channel)
        later = now + timedelta(minutes=self.settings.notify.retry_minutes)
        entry.update(attempts=entry.get("attempts", 0) + 1, next_at=later.isoformat())
