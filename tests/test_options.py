"""Option conventions across commands (docs/cli.md's preamble): --format with --json as
its shorthand and --out beside it, dates as DATE, fixed words typed any way with "did you
mean", one result number, and client codes, tracks and phases matched case aside."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from typing import Any

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic, write_csv
from tests.test_results import LATER, day  # noqa: F401  (the fixture)

DATE_OPTIONS = ("--from", "--to", "--date", "--on", "--admitted", "--late")


def _commands() -> list[tuple[str, Any]]:
    import typer.main

    from screening.cli import app

    found = []

    def walk(command: Any, path: str) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    return found


def _options(command: Any) -> dict[str, Any]:
    return {name: p for p in command.params if p.param_type_name == "option" for name in p.opts}


def test_every_command_with_more_than_one_form_has_format_json_and_out() -> None:
    with_format = []
    for path, command in _commands():
        options = _options(command)
        forms = (
            list(options["--format"].type_descriptor.annotation) if "--format" in options else []
        )
        # One form (`results export --format fhir`): nothing for --json to be short for.
        if "--json" in options or len(forms) > 1:
            assert {"--format", "--json", "--out"} <= set(options), path
            with_format.append(path)
    assert {"clients list", "results list", "timeline", "select", "today"} <= set(with_format)
    assert {"audit fairness", "audit verify", "site show", "policy show"} <= set(with_format)
    assert "--out" in _options(dict(_commands())["results export"])


def test_every_date_option_is_a_date() -> None:
    for path, command in _commands():
        for option in {id(o): o for o in _options(command).values()}.values():
            name = option.opts[0]  # the name it goes by; an older one may follow
            if name in DATE_OPTIONS and not option.is_flag:
                assert option.metavar == "DATE", (path, name)
                assert "YYYY-MM-DD" in (option.help or ""), (path, name)


def test_json_is_short_for_format_json_and_they_must_agree(day: Clinic) -> None:  # noqa: F811
    with freeze_time(LATER):
        short = day.ok("clients", "list", "--json").stdout
        assert day.ok("clients", "list", "--format", "JSON").stdout == short
        both = day.run("clients", "list", "--json", "--format", "text")
        listed = day.ok("clients", "list", "--format", "csv").stdout
        html = day.run("clients", "list", "--format", "html")
        timeline = day.ok("timeline", "C-01", "--json")
        fairness = day.ok("audit", "fairness", "--json")
        today = day.ok("today", "--format", "csv")
    assert both.exit_code == 2 and both.stdout == ""
    assert both.stderr.strip() == ("error: --json and --format text disagree; give one of them")
    assert listed.splitlines()[0].startswith("code,name,track,phase,status")
    assert html.exit_code == 2, "clients list has no html form"
    assert json.loads(timeline.stdout)["client"]["code"] == "C-01"
    assert "clients" in json.loads(fairness.stdout)
    assert len(list(csv.DictReader(io.StringIO(today.stdout)))) == 16


def test_out_writes_a_private_file_instead_of_the_terminal(day: Clinic) -> None:  # noqa: F811
    target = day.folder / "clients.json"
    with freeze_time(LATER):
        written = day.ok("clients", "list", "--json", "--out", str(target))
        pending = day.ok("results", "pending", "--out", str(day.folder / "pending.txt"))
        refused = day.run("site", "show", "--out", str(day.folder / "screening.toml"))
    assert written.stdout == "" and "written to" in written.stderr
    assert len(json.loads(target.read_text())) == 16
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert pending.stdout == "" and "C-01" in (day.folder / "pending.txt").read_text()
    assert refused.exit_code == 2 and "the config" in refused.stderr


def test_select_writes_any_form_to_out_and_keeps_csv_file(day: Clinic) -> None:  # noqa: F811
    with freeze_time(LATER):
        out = day.ok("select", "--format", "csv", "--out", "list.csv")
        old = day.ok("select", "--csv", "old.csv")
        both = day.run("select", "--csv", "a.csv", "--out", "b.csv")
        mixed = day.run("select", "--csv", "a.csv", "--json")
    assert out.stdout == "" and "written to list.csv" in out.stderr
    assert (day.folder / "list.csv").read_text() == (day.folder / "old.csv").read_text()
    assert "Screening list for 2026-11-23" in old.stdout, "--csv FILE still shows the list"
    for refused in (both, mixed):
        assert refused.exit_code == 2
        assert "--csv FILE is short for --format csv --out FILE" in refused.stderr
    assert not (day.folder / "a.csv").exists() and not (day.folder / "b.csv").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_draw_whose_out_file_fails_is_still_shown(day: Clinic) -> None:  # noqa: F811
    with freeze_time(LATER):
        failed = day.run("select", "--format", "json", "--out", "/dev/full")
    assert failed.exit_code == 3
    assert "Screening list for 2026-11-23" in failed.stdout, "the drawn list is shown"
    assert (
        failed.stderr.strip()
        .splitlines()[-1]
        .endswith("run `screening select --format json --out FILE` to write the list")
    )


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_number_results_list_shows_is_the_one_show_and_amend_take(
    day: Clinic,  # noqa: F811
) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01")  # result 1 for a later screening number
        day.ok("results", "for-cause", "C-02", "--reason", "asked for")
        day.ok("results", "record", "C-02", "--screening", "17", "--positive", "THC")
        table = day.run("results", "list", "--client", "C-02", env={"COLUMNS": "200"})
        rows = _csv(day.ok("results", "list", "--client", "C-02", "--format", "csv").stdout)
        (done,) = [row for row in rows if row["result"]]
        shown = json.loads(day.ok("results", "show", done["result"], "--json").stdout)
        day.ok(
            "results", "amend", done["result"], "--reason", "lab confirmation", "--negative", "THC"
        )
        amended = json.loads(day.ok("results", "show", done["result"], "--json").stdout)
    assert table.exit_code == 0
    heading = next(
        line.split() for line in table.stdout.splitlines() if line.split()[:1] == ["screening"]
    )
    assert heading[:2] == ["screening", "date"] and "result" in heading, "both named"
    assert (shown["code"], str(shown["screening"])) == ("C-02", done["screening"])
    assert done["screening"] != done["result"], "the test needs the two numbers apart"
    assert amended["current"]["reason"] == "lab_confirmation"
    assert amended["current"]["reading"] == "negative"


@pytest.mark.parametrize("typed", ["Clinic Error", "clinic-error", " CLINIC_error"])
def test_fixed_words_are_typed_any_way(day: Clinic, typed: str) -> None:  # noqa: F811
    with freeze_time(LATER):
        day.ok("results", "excuse", "C-01", "--reason", typed, "--approved-by", "Dr A")
        rows = json.loads(day.ok("results", "list", "--client", "C-01", "--json").stdout)
    assert [row["excuse"] for row in rows] == ["clinic_error"]


def test_statuses_and_methods_are_typed_any_way_too(day: Clinic) -> None:  # noqa: F811
    with freeze_time(LATER):
        day.ok("results", "no-show", "C-05")
        missed = json.loads(day.ok("results", "list", "--status", "No Show", "--json").stdout)
        day.ok("results", "record", "C-06", "--method", "Point of care")
        (row,) = json.loads(day.ok("results", "list", "--client", "C-06", "--json").stdout)
    assert [r["code"] for r in missed] == ["C-05"]
    assert row["status"] == "collected"


def test_a_word_not_in_the_list_names_the_list_and_the_closest(day: Clinic) -> None:  # noqa: F811
    with freeze_time(LATER):
        day.ok("results", "record", "C-03", "--specimen-id", "SP-3")
        amend = day.run("results", "amend", "SP-3", "--reason", "lab confirm", "--negative", "THC")
        excuse = day.run("results", "excuse", "C-04", "--reason", "medicl", "--approved-by", "Dr A")
        purpose = day.run(
            "audit", "export", "out", "--recipient", "State Auditor", "--purpose", "court-ordr"
        )
        helped = day.run("results", "amend", "--help", env={"COLUMNS": "200"})
    assert amend.exit_code == 2
    assert amend.stderr.strip() == (
        "error: --reason 'lab confirm' is not one of lab report, lab confirmation, "
        "corrected report, data entry error, wrong client; did you mean lab confirmation?"
    )
    assert excuse.exit_code == 2 and "did you mean medical?" in excuse.stderr
    assert purpose.exit_code == 2 and "did you mean court order?" in purpose.stderr
    for word in ("lab_report", "lab_confirmation", "corrected_report", "wrong_client"):
        assert word in helped.stdout


def test_client_codes_match_case_and_spaces_aside(day: Clinic) -> None:  # noqa: F811
    with freeze_time(LATER):
        shown = json.loads(day.ok("clients", "show", " c-01 ", "--json").stdout)
        recorded = day.ok("results", "record", "c-02")
        twice = day.run("results", "for-cause", "C-03", "c-03", "--reason", "asked")
        missing = day.run("clients", "show", "CC-01")
        nothing = day.run("timeline", "Q-999")
    assert shown["code"] == "C-01"
    assert "for C-02" in recorded.stderr
    assert twice.exit_code == 2 and "C-03 is given twice" in twice.stderr
    assert missing.exit_code == 2
    assert "no client with code 'CC-01' at site 'main'; did you mean C-01" in missing.stderr
    assert "Client 1" not in missing.stderr, "a hint names codes only, never names"
    assert nothing.exit_code == 2 and "did you mean" not in nothing.stderr
    assert "see `screening clients list`" in nothing.stderr


def test_codes_that_differ_only_by_case_must_be_typed_exactly(day: Clinic) -> None:  # noqa: F811
    with freeze_time(LATER):
        day.ok("clients", "add", "X-1a", "--track", "morning", "--phase", "1")
        added = day.run("clients", "add", "x-1A", "--track", "morning", "--phase", "1")
        imported = day.run(
            "clients", "import", str(write_csv(day.folder / "more.csv", ["x-1a,,morning,1,,"]))
        )
        # A database enrolled before codes were compared case aside may hold such a pair.
        day.sql("UPDATE clients SET code = 'x-1A' WHERE code = 'C-16'")
        exact = json.loads(day.ok("clients", "show", "x-1A", "--json").stdout)
        ambiguous = day.run("clients", "show", "X-1A")
    assert added.exit_code == 2
    assert "'x-1A' differs only by case from X-1a, already enrolled" in added.stderr
    assert imported.exit_code == 2 and "differs only by case from X-1a" in imported.stderr
    assert exact["name"] == "Client 16"
    assert ambiguous.exit_code == 2
    assert "'X-1A' matches X-1a and x-1A, which differ only by case" in ambiguous.stderr


def test_tracks_and_phases_match_case_aside_or_suggest(day: Clinic) -> None:  # noqa: F811
    with freeze_time(LATER):
        day.ok("clients", "add", "N-1", "--track", "Morning", "--phase", "1")
        listed = json.loads(day.ok("clients", "list", "--track", "MORNING", "--json").stdout)
        wrong = day.run("clients", "add", "N-2", "--track", "mornin", "--phase", "1")
    assert {row["track"] for row in listed} == {"morning"} and len(listed) == 17
    assert wrong.exit_code == 2 and "did you mean morning?" in wrong.stderr
