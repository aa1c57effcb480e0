"""Make the screenshots in docs/ of the printed pages: the front desk's sheet
(`screening today --format html`), a timeline printed on two pages, and, from a scratch
demo clinic with consents and disclosures, the client's accounting of disclosures
(`audit disclosures --client CODE --format html`) and a progress letter (`report
progress CODE --recipient NAME --format html`); each page as Chromium prints it
(`--print-to-pdf`, with its own header and footer on, as a person printing would have
them) turned into PNG by poppler's `pdftoppm`.

    python docs/make_screenshots.py FOLDER [--code C-104] [--at 2026-12-04T15:30:00Z]
    python docs/make_screenshots.py FOLDER --sample    # `screening demo` into FOLDER first

FOLDER is a clinic (its screening.toml); the commands run there as a user types them,
at ``--at`` (a frozen clock, UTC) or now. ``--sample`` first makes the demo clinic in
FOLDER (`screening demo`, its two months ending at ``--at``, by default a Friday
afternoon, so that the sheet shows a day of random draws). ``--code`` is the client whose
timeline is printed (the demo's C-113 by default). The disclosures are made in a demo
clinic of their own, in a scratch folder, at ``--at`` (or the sample's moment), whatever
FOLDER is. Needs /usr/bin/chromium, pdftoppm (poppler-utils) and the dev dependencies
(freezegun).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
SAMPLE_AT = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)  # Friday 2:30 PM in New York
SAMPLE_CODE = "C-113"
# The demo's client with a drug court's consent, and the court (services/demo/roster.py).
LETTER_CODE = "C-113"
DRUG_COURT = "Example County Drug Court"
PROGRAM = "Example Recovery Program"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--code", help="the client whose timeline is printed")
    parser.add_argument("--at", help="the moment the commands run, UTC (default: now)")
    parser.add_argument("--sample", action="store_true", help="make a sample clinic first")
    args = parser.parse_args()
    folder = args.folder.resolve()
    os.environ.pop("SCREENING_DATABASE_URL", None)
    at = datetime.fromisoformat(args.at) if args.at else None
    if args.sample:
        at = at or SAMPLE_AT
        with frozen(at):
            run("demo", str(folder))
    os.chdir(folder)
    code = args.code or SAMPLE_CODE
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        with frozen(at):
            run("today", "--format", "html", "--out", str(work / "today.html"))
            run("timeline", code, "--format", "html", "--out", str(work / "timeline.html"))
        pages = shoot(work / "today.html", work, "today")
        _keep(pages[:1], ["today.png"])
        pages = shoot(work / "timeline.html", work, "timeline")
        if len(pages) < 2:
            sys.exit(f"the timeline of {code} prints on {len(pages)} page; pick a longer one")
        _keep(pages[:2], ["timeline-print-1.png", "timeline-print-2.png"])
        moment = at or SAMPLE_AT
        config = disclosure_clinic(work / "disclosures", moment)
        progress_letter_shot(config, work, moment + timedelta(minutes=20))
        accounting_shot(config, work, moment + timedelta(minutes=40))


def disclosure_clinic(folder: Path, at: datetime) -> Path:
    """A demo clinic of its own in ``folder`` (its two months ending at ``at``), named as
    a program: LETTER_CODE's drug court has its consent (42 CFR 2.35) and a letter on the
    first of each month, and an auditor is given an export. Its config's path. Made
    apart from FOLDER, whose records a letter must not add a disclosure to."""
    with frozen(at):
        run("demo", str(folder))
    config = folder / "screening.toml"
    config.write_text(
        config.read_text().replace("\ntimezone = ", f'\nprogram = "{PROGRAM}"\ntimezone = ', 1)
    )
    with frozen(at + timedelta(minutes=5)):
        run("--config", str(config), "audit", "export", str(folder / "export"),
            "--recipient", "State Auditor", "--purpose", "audit")  # fmt: skip
    return config


def progress_letter_shot(config: Path, work: Path, moment: datetime) -> None:
    """docs/progress-letter.png: the drug court's letter on LETTER_CODE from admission to
    date (`report progress`), its first printed page; a disclosure the accounting lists."""
    page = work / "letter.html"
    with frozen(moment):
        run("--config", str(config), "report", "progress", LETTER_CODE, "--recipient", DRUG_COURT,
            "--format", "html", "--out", str(page))  # fmt: skip
    _keep(shoot(page, work, "letter")[:1], ["progress-letter.png"])


def accounting_shot(config: Path, work: Path, moment: datetime) -> None:
    """docs/accounting.png: LETTER_CODE's own accounting of disclosures, one page."""
    page = work / "accounting.html"
    with frozen(moment):
        run("--config", str(config), "audit", "disclosures", "--client", LETTER_CODE,
            "--format", "html", "--out", str(page))  # fmt: skip
    pages = shoot(page, work, "accounting")
    if len(pages) != 1:
        sys.exit(f"the accounting of {LETTER_CODE} prints on {len(pages)} pages, not one")
    _keep(pages, ["accounting.png"])


def run(*args: str) -> str:
    """A command as a user types it, in this process (so that a frozen clock holds)."""
    from typer.testing import CliRunner

    from screening.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        sys.exit(f"screening {' '.join(args)}: {result.stderr or result.stdout}")
    return str(result.stdout)


@contextmanager
def frozen(moment: datetime | None) -> Iterator[None]:
    if moment is None:
        with nullcontext():
            yield
        return
    from freezegun import freeze_time

    import screening.db.models  # noqa: F401  imported before the clock stops (tests/conftest.py)

    with freeze_time(moment):
        yield


def shoot(page: Path, work: Path, name: str) -> list[Path]:
    """``page`` printed by Chromium as a person would, each page a small PNG."""
    pdf = work / f"{name}.pdf"
    subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            f"--user-data-dir={work / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    subprocess.run(["pdftoppm", "-r", "64", "-png", str(pdf), str(work / name)], check=True)
    return sorted(work.glob(f"{name}-*.png"))


def _keep(pages: list[Path], names: list[str]) -> None:
    for page, name in zip(pages, names, strict=True):
        (DOCS / name).write_bytes(page.read_bytes())
        print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
