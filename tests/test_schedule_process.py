"""`schedule run` as a real process: it draws at run_at, delivers the list to files and by
e-mail (STARTTLS, credentials from the environment) to a local SMTP server, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.conftest import Clinic, write_csv


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "smtp.crt", folder / "smtp.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _zone_clear_of_midnight_and_dst() -> str:
    """A zone where the next minute is neither near midnight nor in 01:00-03:00."""
    for name in ("UTC", "Asia/Tokyo", "America/New_York"):
        hour = datetime.now(ZoneInfo(name)).hour
        if 3 <= hour < 23:
            return name
    raise AssertionError("unreachable: the three zones cannot all be near midnight")


def test_schedule_run_draws_delivers_by_email_and_stops_on_sigterm(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    messages: list[bytes] = []
    logins: list[tuple[bytes, bytes]] = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            messages.append(envelope.content)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    cert, key = _certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    port = _free_port()
    server = Controller(
        Inbox(),
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    server.start()

    zone = _zone_clear_of_midnight_and_dst()
    clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    clinic.ok("init", "--timezone", zone)
    run_at = (datetime.now(ZoneInfo(zone)) + timedelta(seconds=8)).strftime("%H:%M:%S")
    config = tmp_path / "screening.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('days = "meeting"', 'days = "calendar"')
    text = text.replace('run_at = "06:30"', f'run_at = "{run_at}"')
    text = text.replace('# directory = "lists"', 'directory = "lists"')
    text += (
        "\n[notify.smtp]\n"
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        'sender = "screening@clinic.test"\n'
        'to = ["front-desk@clinic.test"]\n'
        f'ca_file = "{cert}"\n'
    )
    config.write_text(text, encoding="utf-8")
    rows = [f"C-{i:02d},Client {i},morning,1,2026-01-05," for i in range(12)]
    clinic.ok("clients", "import", str(write_csv(tmp_path / "c.csv", rows)))

    env = {key: value for key, value in os.environ.items() if not key.startswith("SCREENING_")} | {
        "SCREENING_SMTP_USER": "clinic",
        "SCREENING_SMTP_PASSWORD": "s3cret",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "screening", "--config", str(config), "schedule", "run"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sum("delivered the list" in line for line in list(lines)) >= 2:
                break
            if process.poll() is not None:
                break
            time.sleep(0.2)
        drawn_early = clinic.sql("SELECT count(*) FROM draws")[0][0]
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        reader.join(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
        server.stop()
    log = "".join(lines)
    assert code == 0, log
    assert drawn_early == 1, log
    assert "started for site main" in log and "stopping on SIGTERM" in log, log
    assert "drew " in log and "selected from a pool of 12" in log, log
    (at,) = clinic.sql("SELECT drawn_at FROM draws")[0]
    drawn_local = datetime.fromisoformat(str(at) + "+00:00").astimezone(ZoneInfo(zone))
    assert drawn_local.strftime("%H:%M:%S") >= run_at, "not before run_at"
    lists = sorted(p.name for p in (tmp_path / "lists").iterdir())
    assert len(lists) == 2 and lists[0].endswith(".csv") and lists[1].endswith(".html")
    assert len(messages) == 1 and logins == [(b"clinic", b"s3cret")]
    body = messages[0].decode()
    codes = [
        code
        for (code,) in clinic.sql(
            "SELECT c.code FROM screenings s JOIN clients c ON c.id = s.client_id"
        )
    ]
    assert "Screening list for" in body and all(code in body for code in codes)
    assert "Client " not in body, "e-mail carries codes, not names, unless include_names"
    assert "Client " not in log and "s3cret" not in log
