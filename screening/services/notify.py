"""Delivering the day's list once drawn ([notify]): files, a command, e-mail.

Each channel is tried on its own; a failure is returned (the daily job logs it and tries
again later) and never touches the draw, which is already committed. What a channel
says of a failure never includes a client's name or code.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import signal
import smtplib
import ssl
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from screening.config import Settings
from screening.errors import ScreeningError
from screening.services.draws import LIST_COLUMNS as COLUMNS
from screening.services.draws import DrawView
from screening.services.outputs import DELIVERY_BOOK

COMMAND_SECONDS = 60
SMTP_SECONDS = 30
BOOK = DELIVERY_BOOK
KEEP_DAYS = 14


class DeliveryFailed(Exception):
    """One channel could not deliver; the message is safe to log."""


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


def deliver(settings: Settings, view: DrawView, channel: str) -> str:
    """Deliver by one channel; returns what was done, in words fit for the log."""
    if channel == "files":
        return _to_files(settings, view)
    if channel == "command":
        return _to_command(settings, view)
    if channel == "email":
        return _by_email(settings, view)
    raise ValueError(channel)


def _to_files(settings: Settings, view: DrawView) -> str:
    from screening.render.output import emit_csv
    from screening.render.timeline import render_table_html
    from screening.services.outputs import guard

    folder = Path(settings.notify.directory)  # type: ignore[arg-type]
    if not folder.is_absolute():
        folder = settings.folder / folder
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as error:
        raise DeliveryFailed(f"cannot create {folder}: {error.strerror}") from None
    buffer = io.StringIO()
    emit_csv(view.rows, COLUMNS, buffer)
    name = f"screening-{view.site}-{view.day.isoformat()}"
    html = render_table_html(f"Screening list for {view.day} ({view.site})", view.rows, COLUMNS)
    try:
        files = guard(settings)
        files.write(folder / f"{name}.csv", buffer.getvalue(), "[notify] directory", "the list")
        files.write(folder / f"{name}.html", html, "[notify] directory", "the list")
    except ScreeningError as error:  # says what went wrong, without content
        raise DeliveryFailed(error.message) from None
    except OSError as error:
        raise DeliveryFailed(f"cannot write to {folder}: {error.strerror}") from None
    return f"files {name}.csv and .html in {folder}"


def _to_command(settings: Settings, view: DrawView) -> str:
    return run_command(list(settings.notify.command or []), json.dumps(payload(view)))


def run_command(argv: list[str], text: str, extra: dict[str, str] | None = None) -> str:
    """Run ``argv`` (no shell) with ``text`` on its standard input; a non-zero exit or
    no exit within COMMAND_SECONDS is a failure. The witnesses' commands run the same way."""
    # The command gets what it is sent, not the mail server's credentials.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENING_SMTP_")}
    env.update(extra or {})
    try:
        # In a session of its own, so that on a timeout everything it started is
        # stopped with it, not left running.
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise DeliveryFailed(f"the command {argv[0]} was not found") from None
    except PermissionError:
        raise DeliveryFailed(f"the command {argv[0]} may not be run (permission denied)") from None
    except OSError as error:
        raise DeliveryFailed(f"the command {argv[0]} cannot be run: {error.strerror}") from None
    try:
        process.communicate(input=text, timeout=COMMAND_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise DeliveryFailed(f"the command {argv[0]} took over {COMMAND_SECONDS} s") from None
    except BrokenPipeError:
        process.wait()  # it exited without reading its input: its status says how it went
    done = process
    if done.returncode != 0:
        raise DeliveryFailed(f"the command {argv[0]} exited with status {done.returncode}")
    return f"the command {argv[0]}"


def _by_email(settings: Settings, view: DrawView) -> str:
    smtp = settings.notify.smtp
    assert smtp is not None
    return send_email(
        settings,
        smtp.to,
        f"Screening list for {view.day} ({view.site})",
        _email_text(view, smtp.include_names),
    )


def send_email(settings: Settings, to: list[str], subject: str, text: str) -> str:
    """One plain-text message through [notify.smtp]'s server (STARTTLS, credentials from
    the environment); what was done, in words fit for the log. The witnesses' e-mail
    (services/witness.py) goes the same way."""
    smtp = settings.notify.smtp
    assert smtp is not None
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = smtp.sender
    message["To"] = ", ".join(to)
    message.set_content(text)
    user = os.environ.get("SCREENING_SMTP_USER")
    password = os.environ.get("SCREENING_SMTP_PASSWORD")
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_SECONDS) as server:
            if smtp.starttls:
                context = ssl.create_default_context(cafile=smtp.ca_file)
                server.starttls(context=context)
            if user:
                server.login(user, password or "")
            refused = server.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise DeliveryFailed(
            f"{smtp.host} refused the login of SCREENING_SMTP_USER; check the credentials"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        raise DeliveryFailed(f"e-mail through {smtp.host}:{smtp.port} failed: {error}") from None
    if refused:
        return (
            f"e-mail through {smtp.host} to {len(to) - len(refused)} of {len(to)} "
            f"recipient(s); the server refused {len(refused)}: check the addresses"
        )
    return f"e-mail to {len(to)} recipient(s) through {smtp.host}"


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
