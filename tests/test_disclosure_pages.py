"""The client's accounting of disclosures (`audit disclosures --client CODE --format html`)
as headless Chromium prints it: one letter-size page, in words, with its running header.
CI installs Chromium and poppler-utils (.ci/run): a missing one fails here, never skips."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic
from tests.test_accounting import DRUG_COURT, LATER, PROGRAM, story

CHROMIUM = "/usr/bin/chromium"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: .ci/run installs poppler-utils")
    return found


def _printed(page: Path, tmp_path: Path) -> Path:
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pdf = tmp_path / "accounting.pdf"
    printed = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    return pdf


def test_the_accounting_prints_on_one_letter_page(tmp_path: Path) -> None:
    clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    story(clinic)
    page = tmp_path / "accounting.html"
    with freeze_time(LATER):
        clinic.ok(
            "audit", "disclosures", "--client", "C-01", "--format", "html", "--out", str(page)
        )
    pdf = _printed(page, tmp_path)
    info = subprocess.run(
        [_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert re.search(r"^Page size:\s+612 x 792 pts \(letter\)", info, re.M), info
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Site main, Wed 2 Dec 2026" in lines[0] and "C-01, page 1 of 1" in lines[0], lines[0]
    flat = " ".join(text.split())
    for words in (
        "Disclosures of your records",
        f"{PROGRAM}: for Client Number 1 (C-01)",
        "Sent to",
        "What was shared",
        DRUG_COURT.split()[0],  # a narrow column: the rest on the next lines
        "Questions",
        "Confidential: 42 CFR Part 2",
    ):
        assert words in flat, words
