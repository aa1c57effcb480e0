"""Sending text out of the program: a command run without a shell, with the text on its
standard input, and an e-mail through the server of [notify.smtp]. The day's list and
the witnesses' notes both go this way; what a failure says is safe to log."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import ssl
import subprocess
from email.message import EmailMessage

from screening.config import Settings

COMMAND_SECONDS = 60


SMTP_SECONDS = 30


class DeliveryFailed(Exception):
    """One channel could not deliver; the message is safe to log."""


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


def send_email(settings: Settings, to: list[str], subject: str, text: str) -> str:
    """One plain-text message through [notify.smtp]'s server (STARTTLS, credentials from
    the environment); what was done, in words fit for the log. The witnesses' e-mail
    (services/witness/publishing.py) goes the same way."""
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
