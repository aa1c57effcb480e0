"""A lab's HL7 v2 ORU^R01 results through `results import`: the public samples refused
cleanly, and synthetic toxicology reports (preliminary, final, confirmation, corrected,
cannot be obtained, withdrawn) recorded as amendments, each once, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic, Inits
from tests.hl7_messages import THC_POSITIVE, as_bytes, framed, oru

ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
PUBLIC = Path(__file__).parent / "data" / "hl7-public"
DRAWN = "2026-12-01T13:00:00Z"  # Tuesday 08:00 in New York
RECORDED = "2026-12-01T14:45:00Z"  # 09:45, a quarter of an hour after the collection
LATER = "2026-12-01T15:00:00Z"  # 10:00
AMP_NEGATIVE = (
    "2",
    "CWE",
    "19261-7^Amphetamines [Presence] in Urine by Screen method^LN",
    "LA6577-6^Negative^LN",
    "",
    "1000",  # the lab's cutoff (the panel's is 500)
    "F",
)


def _status(row: tuple[str, ...], status: str) -> tuple[str, ...]:
    return (*row[:6], status)


def thc_level(level: str, status: str = "F", units: str = "ng/mL") -> tuple[str, ...]:
    return (
        "1",
        "NM",
        "20521-1^Cannabinoids [Mass/volume] in Urine by Confirmatory method^LN",
        level,
        units,
        "15",
        status,
    )


@pytest.fixture
def clinic(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """A clinic initialised the morning the specimens are collected."""
    made = Clinic(tmp_path, backend)
    with freeze_time(DRAWN):
        inits.init(made, "--site", "main", "--timezone", "America/New_York")
    return made


@pytest.fixture
def lab(clinic: Clinic) -> Clinic:
    """Two clients, each with a for-cause specimen sent to the lab (SP-0001, SP-0002)."""
    with freeze_time(DRAWN):
        clinic.ok("clients", "add", "C-101", "--track", "morning", "--phase", "1")
        clinic.ok("clients", "add", "C-102", "--track", "morning", "--phase", "1")
        for code in ("C-101", "C-102"):
            clinic.ok("results", "for-cause", code, "--reason", "team request")
    with freeze_time(RECORDED):
        for code, specimen in (("C-101", "SP-0001"), ("C-102", "SP-0002")):
            clinic.ok(
                "results",
                "record",
                code,
                "--sent-to-lab",
                "--specimen-id",
                specimen,
                "--collected-at",
                "09:30",
            )
    return clinic


def _import(clinic: Clinic, name: str, data: bytes | str, *args: str):  # type: ignore[no-untyped-def]
    path = clinic.folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    with freeze_time(LATER):
        return clinic.run("results", "import", str(path), *args)


def _show(clinic: Clinic, specimen: str) -> dict:
    with freeze_time(LATER):
        return json.loads(clinic.ok("results", "show", specimen, "--json").stdout)


def _ledger(clinic: Clinic) -> int:
    return clinic.sql("SELECT count(*) FROM ledger")[0][0]


@pytest.mark.parametrize("name", sorted(p.name for p in PUBLIC.glob("*.hl7")))
@ON_SQLITE
def test_the_public_samples_are_refused_cleanly(clinic: Clinic, name: str) -> None:
    before = _ledger(clinic)
    with freeze_time(LATER):
        refused = clinic.run("results", "import", str(PUBLIC / name))
    assert refused.exit_code == 2
    assert "no drug-screen results" in refused.stderr
    assert ": 1 problem;" in refused.stderr  # the message, not each of its orders
    assert "Traceback" not in refused.stderr + refused.stdout
    assert _ledger(clinic) == before


def test_a_preliminary_screen_then_a_final_confirmation(lab: Clinic) -> None:
    preliminary = oru(control_id="M-1", status="P", observations=(_status(THC_POSITIVE, "P"),))
    done = _import(lab, "prelim.hl7", preliminary)
    assert done.exit_code == 0, done.stderr
    open_ = _show(lab, "SP-0001")
    assert open_["current"]["reading"] == "pending"  # open until the final report
    assert open_["current"]["analytes"]["THC"] == "positive (presumptive)"
    assert any(flag.startswith("preliminary") for flag in open_["current"]["flags"])
    with freeze_time(LATER):
        told = " ".join(lab.ok("timeline", "C-101").stdout.split())
        shown = lab.ok("results", "show", "SP-0001").stdout
    assert "amended: lab report (preliminary): reads awaiting the lab" in told
    assert "reads: awaiting the lab; positive: THC" in shown
    confirmation = oru(control_id="M-2", filler="ORD-0002", observations=(thc_level("38"),))
    done = _import(lab, "confirm.hl7", confirmation)
    assert done.exit_code == 0, done.stderr
    settled = _show(lab, "SP-0001")["current"]
    assert settled["reading"] == "unexpected_positive"
    assert settled["analytes"]["THC"] == "positive (confirmed)"
    assert settled["reason"] == "lab_confirmation"
    with freeze_time(LATER):
        lab.ok("audit", "verify")


def test_a_level_decides_its_outcome_and_units_are_never_converted(lab: Clinic) -> None:
    below = _import(lab, "low.hl7", oru(observations=(thc_level("9"),)))
    assert below.exit_code == 0, below.stderr
    assert _show(lab, "SP-0001")["current"]["analytes"]["THC"] == "negative (confirmed)"
    converted = _import(
        lab,
        "ugl.hl7",
        oru(control_id="M-9", specimen="SP-0002", observations=(thc_level("38", units="ug/L"),)),
    )
    assert converted.exit_code == 2
    assert "units 'ug/L'" in converted.stderr and "never converted" in converted.stderr


def test_a_bound_below_the_cutoff_reads_negative_and_one_that_says_nothing_is_refused(
    lab: Clinic,
) -> None:
    low = ("1", "SN", thc_level("")[2], "<^5", "ng/mL", "15", "F")
    assert _import(lab, "sn.hl7", oru(observations=(low,))).exit_code == 0
    assert _show(lab, "SP-0001")["current"]["analytes"]["THC"] == "negative (confirmed)"
    vague = ("1", "SN", thc_level("")[2], "<^100", "ng/mL", "15", "F")
    refused = _import(
        lab, "vague.hl7", oru(control_id="M-8", specimen="SP-0002", observations=(vague,))
    )
    assert refused.exit_code == 2 and "does not say whether" in refused.stderr


def test_a_corrected_report_is_an_amendment_not_an_overwrite(lab: Clinic) -> None:
    assert _import(lab, "first.hl7", oru(observations=(thc_level("38"),))).exit_code == 0
    corrected = oru(control_id="M-2", status="C", observations=(thc_level("12", "C"),))
    done = _import(lab, "corrected.hl7", corrected)
    assert done.exit_code == 0, done.stderr
    shown = _show(lab, "SP-0001")
    assert shown["current"]["reason"] == "corrected_report"
    assert shown["current"]["note"] == "corrected report"
    assert shown["current"]["analytes"]["THC"] == "negative (confirmed)"
    assert [v["analytes"]["THC"] for v in shown["history"]][-1] == "positive (confirmed)"


def test_cannot_be_obtained_is_inconclusive_and_a_withdrawal_is_flagged(lab: Clinic) -> None:
    lost = (*THC_POSITIVE[:3], "", "", "", "X")
    assert _import(lab, "x.hl7", oru(observations=(lost, AMP_NEGATIVE))).exit_code == 0
    assert _show(lab, "SP-0001")["current"]["analytes"]["THC"] == "inconclusive (presumptive)"
    withdrawn = oru(control_id="M-2", observations=(_status(AMP_NEGATIVE, "W"),))
    done = _import(lab, "w.hl7", withdrawn)
    assert done.exit_code == 0, done.stderr
    current = _show(lab, "SP-0001")["current"]
    assert current["reason"] == "lab_withdrawal"
    assert current["analytes"]["AMP"] == "pending (presumptive)"
    assert any(flag.startswith("review") for flag in current["flags"])


def test_a_message_sent_again_is_recognised_and_skipped(lab: Clinic) -> None:
    text = oru(observations=(THC_POSITIVE, AMP_NEGATIVE))
    assert _import(lab, "one.hl7", text).exit_code == 0
    entries = _ledger(lab)
    again = _import(lab, "again.hl7", text)
    twice_in_one = _import(lab, "twice.hl7", text + text)
    assert again.exit_code == 0 and "already imported" in again.stderr
    assert twice_in_one.exit_code == 0
    assert _ledger(lab) == entries
    shown = _show(lab, "SP-0001")
    assert len(shown["history"]) == 1  # recorded, then one lab report
    assert "AMP screen cutoff 1000 ng/mL: negative" in shown["current"]["says"]


def test_one_refused_message_leaves_the_whole_file_unrecorded(lab: Clinic) -> None:
    good = oru(control_id="M-1", observations=(THC_POSITIVE,))
    bad = oru(control_id="M-2", specimen="SP-9999", observations=(THC_POSITIVE,))
    before = _ledger(lab)
    refused = _import(lab, "two.hl7", good + bad, "--ack-dir", str(lab.folder / "acks"))
    assert refused.exit_code == 2
    assert "specimen id 'SP-9999' (SPM-2) matches no collection" in refused.stderr
    assert "line 10, segment OBR" in refused.stderr  # the second message's order
    assert _ledger(lab) == before
    acks = sorted((lab.folder / "acks").glob("*.ack.hl7"))
    codes = [a.read_bytes().split(b"\rMSA|")[1][:2] for a in acks]
    assert codes == [b"AR", b"AE"]
    refusal = acks[1].read_bytes()  # it leaves the clinic: where, never what
    assert b"|line 10, segment OBR: refused" in refusal and b"SP-9999" not in refusal


@pytest.mark.parametrize(
    "data",
    [
        as_bytes(oru(), ends="\n", bom=True),
        as_bytes(oru(), ends="\n"),
        as_bytes(oru(), ends="\r\n"),
        framed(oru()),
    ],
    ids=["bom-lf", "lf", "crlf", "mllp"],
)
@ON_SQLITE
def test_byte_habits_record_the_same_result(lab: Clinic, data: bytes) -> None:
    done = _import(lab, "habit.hl7", data)
    assert done.exit_code == 0, done.stderr
    current = _show(lab, "SP-0001")["current"]
    assert current["analytes"]["THC"] == "positive (presumptive)"
    assert current["reading"] == "unexpected_positive"


@ON_SQLITE
def test_a_local_code_lab_through_its_map(lab: Clinic) -> None:
    config = lab.folder / "screening.toml"
    config.write_text(
        config.read_text()
        + '\n[labs.quest]\nfacility = "Valley Tox Lab"\nspecimen_id = "OBR-3"\n'
        + '[labs.quest.codes]\n"THCC" = { assay = "THC", method = "confirmation" }\n'
        + '"CRE" = { measure = "creatinine" }\n"SG" = { measure = "specific_gravity" }\n'
        + '"NOTE" = { ignore = true }\n'
    )
    text = oru(
        facility="Valley Tox Lab",
        specimen=None,
        filler="SP-0002",
        observations=(
            ("1", "NM", "THCC^THC confirm^L", "22", "ng/mL", "15", "F"),
            ("2", "NM", "CRE^Creatinine^L", "12", "mg/dL", "", "F"),
            ("3", "NM", "SG^Specific gravity^L", "1.002", "", "", "F"),
            ("4", "TX", "NOTE^Comment^L", "see report", "", "", "F"),
        ),
    )
    done = _import(lab, "local.hl7", text)
    assert done.exit_code == 0, done.stderr
    current = _show(lab, "SP-0002")["current"]
    assert current["analytes"]["THC"] == "positive (confirmed)"
    assert current["validity"] == "dilute"  # the lab's measures, read as staff's would be
    what = ("1", "NM", "ZZZ^What^L", "1", "", "", "F")
    unknown = oru(
        control_id="M-3",
        facility="Valley Tox Lab",
        specimen=None,
        filler="SP-0001",
        observations=(what,),
    )
    refused = _import(lab, "unknown.hl7", unknown)
    assert refused.exit_code == 2 and "[labs.quest.codes]" in refused.stderr


def test_a_specimen_id_that_matches_no_screening_is_named(lab: Clinic) -> None:
    refused = _import(lab, "none.hl7", oru(specimen="SP-4242"))
    assert refused.exit_code == 2
    assert "'SP-4242'" in refused.stderr and "nothing was imported" in refused.stderr


@ON_SQLITE
def test_a_dry_run_lists_what_would_be_recorded_and_writes_nothing(lab: Clinic) -> None:
    before = _ledger(lab)
    dry = _import(lab, "dry.hl7", oru(observations=(THC_POSITIVE, AMP_NEGATIVE)), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "specimen SP-0001" in dry.stderr and "THC positive" in dry.stderr
    assert "would record 1 report" in dry.stderr
    assert _ledger(lab) == before


@ON_SQLITE
def test_acks_are_written_for_a_recorded_file(lab: Clinic) -> None:
    folder = lab.folder / "acks"
    done = _import(lab, "ok.hl7", oru(control_id="M-77"), "--ack-dir", str(folder))
    assert done.exit_code == 0, done.stderr
    (ack,) = folder.glob("*.ack.hl7")
    assert b"\rMSA|AA|M-77|" in ack.read_bytes()
    assert ack.read_bytes().startswith(b"MSH|^~\\&|SCREENING|TEST CLINIC|ACME LIS|ACME TOX")


@ON_SQLITE
def test_a_collection_time_the_clinic_did_not_record_is_a_different_specimen(
    lab: Clinic,
) -> None:
    refused = _import(lab, "time.hl7", oru(collected="20261201143000-0500"))
    assert refused.exit_code == 2 and "a different specimen?" in refused.stderr


# --- what review found -------------------------------------------------------------------

AMP_LEVEL = ("1", "NM", "19261-7^Amphetamines [Presence] in Urine by Screen method^LN", "1200",
             "ng/mL", "", "F")  # fmt: skip


def _two_orders(*orders: tuple[str, str, tuple[tuple[str, ...], ...]]) -> str:
    """One message whose orders are (OBR-3, OBR-25, observations), one SPM each."""
    text = oru(control_id="M-40", observations=())
    head, _ = text.split("\rOBR|", 1)
    segments = [head]
    for number, (filler, status, observations) in enumerate(orders, start=1):
        one = oru(filler=filler, status=status, observations=observations)
        body = one.split("\rOBR|", 1)[1]
        segments.append(f"OBR|{body.replace('OBR|1|', f'OBR|{number}|', 1)}".rstrip("\r"))
    return "\r".join(segments) + "\r"


def test_a_screen_and_a_confirmation_under_one_accession_are_both_recorded(lab: Clinic) -> None:
    text = _two_orders(("ACC-1", "F", (THC_POSITIVE,)), ("ACC-1", "F", (thc_level("62"),)))
    done = _import(lab, "two-orders.hl7", text)
    assert done.exit_code == 0, done.stderr
    current = _show(lab, "SP-0001")["current"]
    assert current["analytes"]["THC"] == "positive (confirmed)"
    assert "already imported" not in done.stderr


def test_one_order_per_analyte_never_leaves_a_level_not_tested(lab: Clinic) -> None:
    text = _two_orders(("ACC-1", "F", (THC_POSITIVE,)), ("ACC-2", "F", (AMP_LEVEL,)))
    done = _import(lab, "per-analyte.hl7", text)
    assert done.exit_code == 0, done.stderr
    analytes = _show(lab, "SP-0001")["current"]["analytes"]
    assert analytes["AMP"] == "positive (presumptive)"  # 1200 over the panel's 500
    assert analytes["THC"] == "positive (presumptive)"
    assert analytes["COC"] == "not_tested (presumptive)"  # the final report did not name it


@ON_SQLITE
def test_not_asked_is_not_tested_and_a_final_without_its_value_settles_a_preliminary(
    lab: Clinic,
) -> None:
    first = oru(status="P", observations=(_status(THC_POSITIVE, "P"), _status(AMP_NEGATIVE, "N")))
    assert _import(lab, "p.hl7", first).exit_code == 0
    assert _show(lab, "SP-0001")["current"]["analytes"]["AMP"] == "not_tested (presumptive)"
    assert _show(lab, "SP-0001")["current"]["reading"] == "pending"
    made_final = (*THC_POSITIVE[:3], "", "", "", "U")
    done = _import(lab, "u.hl7", oru(control_id="M-2", observations=(made_final,)))
    assert done.exit_code == 0, done.stderr
    current = _show(lab, "SP-0001")["current"]
    assert current["reading"] == "unexpected_positive"
    assert current["analytes"]["THC"] == "positive (presumptive)"


@ON_SQLITE
def test_staff_amendments_keep_a_preliminary_report_preliminary(lab: Clinic) -> None:
    assert _import(lab, "p.hl7", oru(status="P", observations=(_status(THC_POSITIVE, "P"),)))
    with freeze_time(LATER):
        lab.ok("results", "amend", "SP-0001", "--reason", "lab_report", "--creatinine", "150")
    current = _show(lab, "SP-0001")["current"]
    assert current["reading"] == "pending"
    assert any(flag.startswith("preliminary") for flag in current["flags"])


@ON_SQLITE
def test_a_lab_message_digest_planted_in_the_database_is_caught(lab: Clinic) -> None:
    with freeze_time(LATER):
        lab.ok("audit", "verify")
        lab.sql("UPDATE result_versions SET lab_message = :key WHERE id = 1", key="0" * 64)
        caught = lab.run("audit", "verify")
    assert caught.exit_code == 1 and "result version" in caught.stderr


@pytest.mark.parametrize(
    ("observation", "said"),
    [
        (("1", "SN", thc_level("")[2], "<=^15", "ng/mL", "15", "F"), "does not say whether"),
        (("1", "CWE", THC_POSITIVE[2], THC_POSITIVE[3], "", "50", ""), "no result status"),
        (
            ("1", "NM", "16235-4^Amphetamine [Mass/volume] in Serum or Plasma by Confirmatory "
             "method^LN", "80", "ng/mL", "20", "F"),
            "a test of blood, but the specimen was recorded as urine",
        ),
    ],
    ids=["bound-at-cutoff", "no-status", "serum-code"],
)  # fmt: skip
@ON_SQLITE
def test_what_says_more_than_the_lab_knows_is_refused(
    lab: Clinic, observation: tuple[str, ...], said: str
) -> None:
    refused = _import(lab, "more.hl7", oru(status="", observations=(observation,)))
    assert refused.exit_code == 2 and said in refused.stderr


@ON_SQLITE
def test_a_bound_with_no_cutoff_from_the_lab_reads_against_the_panels(lab: Clinic) -> None:
    below = ("1", "SN", AMP_LEVEL[2], "<^100", "ng/mL", "", "F")  # panel's AMP screen: 500
    done = _import(lab, "bound.hl7", oru(observations=(below,)))
    assert done.exit_code == 0, done.stderr
    assert _show(lab, "SP-0001")["current"]["analytes"]["AMP"] == "negative (presumptive)"


# --- what the user test found ------------------------------------------------------------


def test_a_final_report_sent_after_a_correction_does_not_undo_it(lab: Clinic) -> None:
    negative = ("1", "CWE", THC_POSITIVE[2], "LA6577-6^Negative^LN", "", "50", "F")
    assert _import(lab, "f1.hl7", oru(control_id="F1", observations=(negative,))).exit_code == 0
    corrected = oru(control_id="C3", status="C", observations=(_status(THC_POSITIVE, "C"),))
    assert _import(lab, "c3.hl7", corrected).exit_code == 0
    entries = _ledger(lab)
    stale = _import(lab, "f2.hl7", oru(control_id="F2", observations=(negative,)))
    assert stale.exit_code == 2 and "would undo the lab's corrected report" in stale.stderr
    assert _ledger(lab) == entries
    assert _show(lab, "SP-0001")["current"]["analytes"]["THC"] == "positive (presumptive)"


@ON_SQLITE
def test_two_maps_for_one_lab_are_refused_by_config_check(lab: Clinic) -> None:
    config = lab.folder / "screening.toml"
    config.write_text(
        config.read_text()
        + '\n[labs.valley]\nfacility = "VALLEY TOXICOLOGY"\n'
        + '[labs.valley2]\nfacility = " valley   toxicology"\n'
    )
    checked = lab.run("config", "check")
    assert checked.exit_code == 2 and "also labs.valley.facility" in checked.stderr


@ON_SQLITE
def test_each_ack_has_its_own_control_id(lab: Clinic) -> None:
    folder = lab.folder / "acks"
    both = oru(control_id="M-1") + oru(control_id="M-2", specimen="SP-0002")
    assert _import(lab, "two.hl7", both, "--ack-dir", str(folder)).exit_code == 0
    controls = {a.read_bytes().split(b"|")[9] for a in folder.glob("*.ack.hl7")}
    assert len(controls) == 2


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "the file is empty"),
        (oru().split("\rPID")[0].encode(), "holds no observation (OBX): is the file whole?"),
        (b'"' + oru().replace("\r", " ").encode() + b'"\n', "holds HL7 segments, but not"),
        (oru(observations=(thc_level("-5"),)).encode(), "'-5' is not a level"),
        (oru(observations=(thc_level("38"), thc_level("9"))).encode(), "already reported on line"),
        (oru(collected="20270229093000-0500").encode(), "not a date and time that exists"),
    ],
    ids=["empty", "cut-short", "inside-csv", "negative", "twice", "feb-29-2027"],
)
@ON_SQLITE
def test_files_users_get_wrong_are_refused_in_one_line(lab: Clinic, data: bytes, said: str) -> None:
    before = _ledger(lab)
    refused = _import(lab, "wrong.hl7", data)
    assert refused.exit_code == 2 and said in refused.stderr
    assert "TEST^PATIENT" not in refused.stderr  # a name is never quoted back
    assert _ledger(lab) == before


# --- what the second user test found -----------------------------------------------------


def test_on_a_network_each_site_records_its_own_orders_of_one_file(lab: Clinic) -> None:
    south = lab.folder / "south" / "screening.toml"

    def at_south(*args: str):  # type: ignore[no-untyped-def]
        return lab.run("--config", str(south), *args)

    with freeze_time(RECORDED):  # after main's entries: one ledger, one clock
        assert at_south("init", "--site", "south", "--timezone", "America/New_York").exit_code == 0
        assert (
            at_south("clients", "add", "S-01", "--track", "morning", "--phase", "1").exit_code == 0
        )
        assert at_south("results", "for-cause", "S-01", "--reason", "team request").exit_code == 0
    with freeze_time("2026-12-01T14:55:00Z"):
        # A label is one label whatever its case: main's SP-0001 cannot be used again.
        taken = at_south("results", "record", "S-01", "--sent-to-lab", "--specimen-id",
                         "sp-0001", "--collected-at", "09:50")  # fmt: skip
        assert taken.exit_code == 2 and "already recorded" in taken.stderr
        assert at_south("results", "record", "S-01", "--sent-to-lab", "--specimen-id",
                        "sp-south", "--collected-at", "09:50").exit_code == 0  # fmt: skip
    # The lab upper-cases the labels, and puts both sites' reports in one file.
    both = oru(control_id="N-1") + oru(control_id="S-1", specimen="SP-SOUTH")
    path = lab.folder / "both.hl7"
    path.write_text(both)
    with freeze_time(LATER):
        at_main = lab.run("results", "import", str(path))
        there = at_south("results", "import", str(path))
        shown = json.loads(at_south("results", "show", "sp-south", "--json").stdout)
    assert at_main.exit_code == 0 and "1 order(s) for another site's specimens" in at_main.stderr
    assert there.exit_code == 0 and "recorded 1 report for 1 specimen" in there.stderr
    assert shown["current"]["analytes"]["THC"] == "positive (presumptive)"
    assert _show(lab, "SP-0001")["current"]["analytes"]["THC"] == "positive (presumptive)"


@ON_SQLITE
def test_a_message_sent_before_the_collection_is_refused(lab: Clinic) -> None:
    early = oru(collected="").replace("|20261201120000-0500||", "|20261130120000-0500||", 1)
    refused = _import(lab, "early.hl7", early)
    assert refused.exit_code == 2 and "before specimen SP-0001 was collected" in refused.stderr


@ON_SQLITE
def test_files_kept_in_done_are_private_to_the_clinic(lab: Clinic) -> None:
    import os
    import stat

    from screening.services.results import sweep
    from tests.test_drop_folder import _context

    drop = lab.folder / "drop"
    drop.mkdir(mode=0o755)
    os.chmod(drop, 0o755)
    feed = drop / "feed.hl7"
    feed.write_text(oru())
    os.chmod(feed, 0o644)
    os.utime(feed, (feed.stat().st_atime - 60, feed.stat().st_mtime - 60))
    with freeze_time(LATER):
        ctx = _context(lab)
        try:
            assert [s.outcome for s in sweep(ctx, drop)] == ["imported"]
        finally:
            ctx.database.dispose()
    assert stat.S_IMODE((drop / "done").stat().st_mode) == 0o750
    # Nothing for other users; the drop folder's group keeps what it had (read).
    assert stat.S_IMODE((drop / "done" / "feed.hl7").stat().st_mode) == 0o640


# --- what the review of the late fixes found ---------------------------------------------


def test_a_correction_holds_against_late_reports_and_lets_the_rest_through(lab: Clinic) -> None:
    negative = ("1", "CWE", THC_POSITIVE[2], "LA6577-6^Negative^LN", "", "50", "F")
    assert _import(lab, "f1.hl7", oru(control_id="F1", observations=(negative,))).exit_code == 0
    corrected = oru(control_id="C2", status="C", observations=(_status(THC_POSITIVE, "C"),))
    assert _import(lab, "c2.hl7", corrected).exit_code == 0
    # Another analyte's report, and the confirmation of the corrected one, go through.
    amp = oru(control_id="F3", filler="ORD-3", observations=(AMP_NEGATIVE,))
    assert _import(lab, "f3.hl7", amp).exit_code == 0
    with freeze_time(LATER):  # staff's amendment between does not hide the correction
        lab.ok("results", "amend", "sp-0001", "--reason", "lab_report", "--creatinine", "150")
    stale = _import(lab, "f4.hl7", oru(control_id="F4", observations=(negative,)))
    assert stale.exit_code == 2 and "would undo the lab's corrected report" in stale.stderr
    confirmed = oru(control_id="F5", filler="ORD-5", observations=(thc_level("38"),))
    done = _import(lab, "f5.hl7", confirmed)
    assert done.exit_code == 0, done.stderr
    assert _show(lab, "SP-0001")["current"]["analytes"]["THC"] == "positive (confirmed)"


@ON_SQLITE
def test_one_label_spelled_two_ways_in_one_file_is_one_specimen(lab: Clinic) -> None:
    both = oru(control_id="M-1") + oru(control_id="M-2", specimen="sp-0001",
                                       observations=(AMP_NEGATIVE,))  # fmt: skip
    done = _import(lab, "spelled.hl7", both)
    assert done.exit_code == 0, done.stderr
    assert "for 1 specimen" in done.stderr
    analytes = _show(lab, "SP-0001")["current"]["analytes"]
    assert (analytes["THC"], analytes["AMP"]) == (
        "positive (presumptive)",
        "negative (presumptive)",
    )
    rows = ["SP-0002,,THC,positive,,,immunoassay,R-1", "sp-0002,,THC,negative,,,immunoassay,R-1"]
    header = "specimen_id,collected_at,analyte,outcome,level,cutoff,method,lab_report_id"
    twice = _import(lab, "spelled.csv", "\n".join([header, *rows]) + "\n")
    assert twice.exit_code == 2 and "already appears on line 2" in twice.stderr


@ON_SQLITE
def test_an_answer_and_a_level_for_one_analyte_are_read_together(lab: Clinic) -> None:
    presence = ("1", "CWE", "3426-4^Cannabinoids [Presence] in Urine by Confirmatory method^LN",
                "LA6576-8^Positive^LN", "", "15", "F")  # fmt: skip
    level = (*thc_level("38")[:1], *thc_level("38")[1:])
    done = _import(lab, "pair.hl7", oru(observations=(presence, ("2", *level[1:]))))
    assert done.exit_code == 0, done.stderr
    assert "THC positive 38 ng/mL" in done.stderr
    disagree = (*presence[:3], "LA6577-6^Negative^LN", "", "15", "F")
    both = (disagree, ("2", *level[1:]))
    refused = _import(
        lab, "pair2.hl7", oru(control_id="M-2", specimen="SP-0002", observations=both)
    )
    assert refused.exit_code == 2


@ON_SQLITE
def test_a_status_update_with_nothing_yet_is_not_a_file_cut_short(lab: Clinic) -> None:
    update = oru(status="I", observations=())
    done = _import(lab, "update.hl7", update + oru(control_id="M-2", specimen="SP-0002"))
    assert done.exit_code == 0, done.stderr
    assert "recorded 1 report for 1 specimen" in done.stderr


@ON_SQLITE
def test_a_send_time_without_offset_is_the_labs_own_day(lab: Clinic) -> None:
    local = oru().replace("|20261201120000-0500||", "|20261201090000||", 1)  # 09:00, before 09:30
    assert _import(lab, "local.hl7", local).exit_code == 0


@ON_SQLITE
def test_a_label_is_found_whatever_its_case_and_one_sender_has_one_map(lab: Clinic) -> None:
    with freeze_time(LATER):
        assert lab.ok("results", "show", "sp-0001", "--json").stdout
    config = lab.folder / "screening.toml"
    config.write_text(
        config.read_text()
        + '\n[labs.byname]\nfacility = "ACME TOX"\n[labs.bynumber]\nclia = "05D1234567"\n'
    )
    refused = _import(lab, "two-maps.hl7", oru())
    assert refused.exit_code == 2 and "[labs.byname] and [labs.bynumber]" in refused.stderr


@ON_SQLITE
def test_orders_for_another_site_wait_in_others_and_done_is_closed_to_others(
    lab: Clinic,
) -> None:
    import os
    import stat

    from screening.services.results import sweep
    from tests.test_drop_folder import _context

    drop = lab.folder / "drop"
    (drop / "done").mkdir(parents=True, mode=0o755)
    os.chmod(drop / "done", 0o755)  # as an earlier version left it
    south = lab.folder / "south" / "screening.toml"
    steps = [
        (RECORDED, ("init", "--site", "south", "--timezone", "America/New_York")),
        (RECORDED, ("clients", "add", "S-01", "--track", "morning", "--phase", "1")),
        (RECORDED, ("results", "for-cause", "S-01", "--reason", "team request")),
        ("2026-12-01T14:55:00Z", ("results", "record", "S-01", "--sent-to-lab",
                                  "--specimen-id", "SP-S", "--collected-at", "09:50")),
    ]  # fmt: skip
    for at, args in steps:
        with freeze_time(at):
            assert lab.run("--config", str(south), *args).exit_code == 0, args
    shared = drop / "shared.hl7"
    shared.write_text(oru(control_id="N-1") + oru(control_id="S-1", specimen="SP-S"))
    os.utime(shared, (shared.stat().st_atime - 60, shared.stat().st_mtime - 60))
    with freeze_time(LATER):
        ctx = _context(lab)
        try:
            [swept] = sweep(ctx, drop)
        finally:
            ctx.database.dispose()
    assert swept.moved_to == "others/shared.hl7"
    assert (
        "Import this file at each of those sites"
        in (drop / "others" / "shared.hl7.reason.txt").read_text()
    )
    assert stat.S_IMODE((drop / "done").stat().st_mode) == 0o750


@ON_SQLITE
def test_every_correction_holds_not_only_the_latest(lab: Clinic) -> None:
    negative = ("1", "CWE", THC_POSITIVE[2], "LA6577-6^Negative^LN", "", "50", "F")
    amp_positive = (*AMP_NEGATIVE[:3], "LA6576-8^Positive^LN", "", "1000", "F")
    first = oru(control_id="F1", observations=(negative, AMP_NEGATIVE))
    assert _import(lab, "f1.hl7", first).exit_code == 0
    for control, row in (("C2", THC_POSITIVE), ("C3", amp_positive)):
        corrected = oru(control_id=control, status="C", observations=(_status(row, "C"),))
        assert _import(lab, f"{control}.hl7", corrected).exit_code == 0
    stale = _import(lab, "f4.hl7", oru(control_id="F4", observations=(negative,)))
    assert stale.exit_code == 2 and "corrected report of specimen SP-0001 (THC)" in stale.stderr
