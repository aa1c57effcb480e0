"""Names and reasons in any alphabet work everywhere.

Days: Monday 2026-11-02. Zoë Adams, at a shared workstation (`--actor "Zoë Adams"`),
enrols José Núñez as C-361 (morning, phase 1), and puts him on hold from Wednesday to
Thursday, "viaje a Bogotá — familia". He is drawn at 07:00; his specimen is recorded at
10:00, collected by "Łukasz Wiśniewski". "José" typed with a combining accent (as some
keyboards send it) is the same name as "José".

- Every command succeeds (never "internal error (NotCanonical)").
- `clients show C-361` shows his name; `timeline C-361` shows the hold's reason; `results
  list` shows the collector.
- The ledger holds none of these names or the reason (only digests), and one staff
  digest for Zoë however her name was typed.
- `report team` lists C-361; `audit verify` says intact.
"""

from __future__ import annotations

import json

from tests.scenarios.conftest import Story


def test_non_ascii_names_and_reasons_work_end_to_end(story: Story) -> None:
    zoe = ("--actor", "Zoë Adams")
    zoe_decomposed = ("--actor", "Zoe\u0308 Adams")
    story.ok(
        "2026-11-02 06:40",
        *zoe,
        "clients",
        "add",
        "C-361",
        "--name",
        "José Núñez",
        "--track",
        "morning",
        "--phase",
        "1",
        "--admitted",
        "2026-11-02",
    )
    story.ok(
        "2026-11-02 06:45",
        *zoe_decomposed,
        "clients",
        "hold",
        "C-361",
        "--from",
        "2026-11-04",
        "--to",
        "2026-11-05",
        "--reason",
        "viaje a Bogotá — familia",
    )
    drawn = story.json("2026-11-02 07:00", *zoe, "select")
    assert [row["code"] for row in drawn["selected"]] == ["C-361"]
    story.ok(
        "2026-11-02 10:00",
        *zoe,
        "results",
        "record",
        "C-361",
        "--collector",
        "Łukasz Wiśniewski",
    )

    assert "José Núñez" in story.out("2026-11-02 10:05", "clients", "show", "C-361")
    assert "viaje a Bogotá — familia" in story.out("2026-11-03 09:00", "timeline", "C-361")
    assert "Łukasz Wiśniewski" in story.out("2026-11-03 09:00", "results", "show", "1")
    team = {row["code"] for row in story.json("2026-11-03 09:00", "report", "team")}
    assert "C-361" in team

    ledger = "\n".join(text for (text,) in story.clinic.sql("SELECT canonical FROM ledger"))
    for secret in ("José", "Núñez", "Bogotá", "Zoë", "Łukasz", "Wiśniewski"):
        assert secret not in ledger
    actors = {
        json.dumps(json.loads(text)["actor"], sort_keys=True)
        for (text,) in story.clinic.sql(
            "SELECT canonical FROM ledger WHERE kind IN ('client', 'hold')"
        )
    }
    assert len(actors) == 1  # "Zoë" composed or not: one person
    assert "ledger intact" in story.verify("2026-11-03 09:05")
