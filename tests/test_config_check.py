"""`screening config check`: validate the config, explain what it sets, name each problem.

Every problem is one stderr line naming its TOML path and a fix, exit 2. The config is
found by `--config PATH`, else `$SCREENING_CONFIG`, else `./screening.toml`, else the user
config dir (DESIGN §7); a variable naming another file than the folder's own config is
refused. No database is needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from screening.cli import app

EXAMPLE = files("screening").joinpath("data/config.example.toml").read_text(encoding="utf-8")


def check(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [*args, "config", "check"], env=env)


def replaced(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, f"the example config no longer has {old!r}"
        return text.replace(old, new, 1)

    return edit


def appended(extra: str) -> Callable[[str], str]:
    return lambda text: text + "\n" + extra


def with_site(name: str) -> str:
    return replaced('name = "main"', f'name = "{name}"')(EXAMPLE)


def test_the_example_config_is_valid_and_explained(tmp_path: Path) -> None:
    (tmp_path / "clinic.toml").write_text(EXAMPLE, encoding="utf-8")

    result = check("--config", "clinic.toml")

    assert result.exit_code == 0, result.stderr
    # The example keeps checkpoints on this machine only; config check says so.
    assert result.stderr.splitlines() == [
        f"warning: the only witness is {tmp_path / 'screening-witness'}, on this machine: "
        "add a folder on another disk or share (or an auditor's e-mail) under [witness], so "
        "that someone who can change this machine cannot also change its checkpoints"
    ]
    lines = result.stdout.splitlines()
    assert lines[0] == "clinic.toml: valid"
    for line in [
        "site main, time zone America/New_York",
        f"database sqlite:///screening.db; key file {tmp_path / 'screening.key'} (MISSING)",
        "days that count: meeting; collect within 12 h",
        "track evening: tue, thu",
        "track morning: mon, wed, fri",
        # 2 tests a week over 3 meeting days is 2/3 a day; over 2 days it is 1.
        "phase 1: daily probability evening 1/1, morning 2/3; at most 14 days between tests",
        "phase 2: daily probability evening 1/2, morning 1/3; at most 21 days between tests",
        "phase 3: daily probability evening 1/4, morning 1/6",
        "panel oral_fluid (oral fluid): 8 analytes",
        "panel urine (urine): 16 analytes",
        f"witness key {tmp_path / 'screening-witness.key'} (MISSING)",
        f"checkpoints go to folder {tmp_path / 'screening-witness'}; verify warns when the "
        "newest is over 2 day(s) old",
    ]:
        assert line in lines
    assert not (tmp_path / "screening.db").exists(), "config check must not touch a database"


def test_witnesses_off_this_machine_are_listed_without_a_warning(tmp_path: Path) -> None:
    (tmp_path / "share").mkdir()
    text = replaced("folders = []", 'folders = ["share", "/mnt/not-mounted"]')(EXAMPLE)
    text = replaced("email = []", 'email = ["auditor@example.org"]')(text)
    text = replaced("commands = []", 'commands = [["/usr/local/bin/ship", "--to", "a"]]')(text)
    # The list is not e-mailed (no `to`): the server carries the checkpoints only.
    text += '\n[notify.smtp]\nhost = "smtp.example.org"\nsender = "s@example.org"\n'
    (tmp_path / "screening.toml").write_text(text, encoding="utf-8")

    result = check()

    assert result.exit_code == 0, result.stderr
    assert (
        f"checkpoints go to folder {tmp_path / 'screening-witness'}, folder "
        f"{tmp_path / 'share'}, folder /mnt/not-mounted, e-mail auditor@example.org, "
        "command /usr/local/bin/ship; verify warns when the newest is over 2 day(s) old"
    ) in result.stdout.splitlines()
    assert "delivers to nobody" in result.stdout  # the day's list goes nowhere by e-mail
    assert result.stderr.splitlines() == [
        "warning: witness.folders: /mnt/not-mounted does not exist (yet); create it or mount it"
    ]


def test_an_smtp_server_without_recipients_is_named(tmp_path: Path) -> None:
    text = EXAMPLE + '\n[notify.smtp]\nhost = "smtp.example.org"\nsender = "s@example.org"\n'
    (tmp_path / "screening.toml").write_text(text, encoding="utf-8")

    result = check()

    assert result.exit_code == 2
    assert "notify.smtp.to: missing; add the addresses the day's list goes to" in result.stderr


def test_calendar_days_spread_the_weekly_rate_over_seven_days(tmp_path: Path) -> None:
    (tmp_path / "screening.toml").write_text(
        replaced('days = "meeting"', 'days = "calendar"')(EXAMPLE), encoding="utf-8"
    )

    result = check()

    assert result.exit_code == 0, result.stderr
    assert (
        "phase 1: daily probability evening 2/7, morning 2/7; at most 14 days between tests"
        in result.stdout.splitlines()
    )


PROBLEMS = [
    pytest.param(
        appended("[phases.1.by_track.night]\ntests_per_week = 3\n"),
        "phases.1.by_track.night: unknown track 'night'; known tracks: evening, morning",
        id="unknown-track-in-phase",
    ),
    pytest.param(
        replaced('timezone = "America/New_York"', 'timezone = "Mars/Olympus"'),
        "site.timezone: 'Mars/Olympus' is not an IANA time zone; "
        'use a name such as "America/New_York"',
        id="bad-time-zone",
    ),
    pytest.param(
        replaced("tests_per_week = 2", 'tests_per_week = "two"'),
        "phases.1.tests_per_week: 'two' is not a number; write a number such as 2, 0.5 or \"1/2\"",
        id="rate-not-a-number",
    ),
    pytest.param(
        replaced('days = ["mon", "wed", "fri"]', 'days = ["mon", "fry"]'),
        "tracks.morning.days[1]: 'fry' is not a weekday; use mon, tue, wed, thu, fri, sat, sun",
        id="no-such-weekday",
    ),
    pytest.param(
        replaced("per_day = 0", "per_day = 0\nper_week = 3"),
        "policy.per_week: unknown setting; remove it or check its spelling against "
        "config.example.toml",
        id="unknown-key",
    ),
    pytest.param(
        replaced("tests_per_week = 0.5", 'tests_per_week = 0.5\ndaily_probability = "1/7"'),
        "phases.3: give tests_per_week or daily_probability, not both",
        id="two-rates",
    ),
    pytest.param(
        replaced("commands = []", 'commands = ["/usr/local/bin/ship"]'),
        "witness.commands[0]: Input should be a valid list (got '/usr/local/bin/ship')",
        id="witness-command-not-a-list",
    ),
    pytest.param(
        replaced("commands = []", "commands = [[]]"),
        "witness.commands[0]: a command is a list of its program and arguments, e.g. "
        '["/usr/local/bin/ship", "--to", "auditor"]; this one is empty',
        id="witness-command-empty",
    ),
    pytest.param(
        replaced("folders = []", 'folders = [""]'),
        'witness.folders[0]: a folder is a path, e.g. "/mnt/auditor/screening"; this one is empty',
        id="witness-folder-empty",
    ),
    pytest.param(
        replaced("max_age_days = 2", "max_age_days = 0"),
        "witness.max_age_days: Input should be greater than or equal to 1 (got 0)",
        id="witness-max-age-zero",
    ),
    pytest.param(
        lambda text: (
            replaced("email = []", 'email = ["auditor at example.org"]')(text)
            + '\n[notify.smtp]\nhost = "smtp.example.org"\nsender = "s@example.org"\n'
        ),
        "witness.email[0]: 'auditor at example.org' is not an e-mail address; write it as "
        "name@example.org",
        id="witness-email-not-an-address",
    ),
    pytest.param(
        replaced("email = []", 'email = ["auditor@example.org"]'),
        "witness.email: e-mail to witnesses goes through the server of [notify.smtp]; add a "
        "[notify.smtp] table (host, sender) or remove witness.email",
        id="witness-email-without-a-server",
    ),
    pytest.param(
        replaced("folders = []", 'folder = ["/mnt/auditor"]'),
        "witness.folder: unknown setting; remove it or check its spelling against "
        "config.example.toml",
        id="witness-unknown-key",
    ),
    pytest.param(
        appended(
            '[labs.valley]\nfacility = "VALLEY TOX"\n[labs.valley.codes]\n'
            '"AMPS" = { assay = "AMPH", method = "screen" }\n'
        ),  # fmt: skip
        "labs.valley.codes.AMPS.assay: 'AMPH' is not an assay the vocabulary knows; use one "
        "of a panel's codes (e.g. 6AM, AMP, BUP, BZO, COC, EDDP)",
        id="lab-map-unknown-assay",
    ),
    pytest.param(
        appended(
            '[labs.valley]\nfacility = "VALLEY TOX"\n[labs.valley.codes]\n'
            '"AMPS" = { assay = "AMP" }\n'
        ),  # fmt: skip
        'labs.valley.codes.AMPS: an assay needs its method: method = "screen" or "confirmation"',
        id="lab-map-no-method",
    ),
    pytest.param(
        appended('[labs.valley]\nspecimen_id = "SPM-2"\n'),
        "labs.valley: a lab is recognised by its sending facility (MSH-4): add facility = "
        '"NAME" or clia = "NUMBER"',
        id="lab-map-unrecognisable",
    ),
    pytest.param(
        appended('[labs.valley]\nfacility = "VALLEY TOX"\nspecimen_id = "PID-3"\n'),
        "labs.valley.specimen_id: 'PID-3' is not allowed; use 'SPM-2', 'OBR-3' or 'OBR-20'",
        id="lab-map-specimen-field",
    ),
]


@pytest.mark.parametrize(("edit", "problem"), PROBLEMS)
def test_a_problem_is_named_by_its_toml_path_with_a_fix(
    tmp_path: Path, edit: Callable[[str], str], problem: str
) -> None:
    (tmp_path / "bad.toml").write_text(edit(EXAMPLE), encoding="utf-8")

    result = check("--config", "bad.toml")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"error: bad.toml: {problem}"]


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    text = replaced("per_day = 0", "per_day = ")(EXAMPLE)
    line = text.splitlines().index("per_day = ") + 1
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")

    result = check("--config", "bad.toml")

    assert result.exit_code == 2
    assert result.stdout == ""
    [message] = result.stderr.splitlines()
    assert message.startswith("error: bad.toml: not valid TOML (")
    assert f"at line {line}," in message
    assert message.endswith("; fix that line")


def test_every_field_problem_is_listed_at_once(tmp_path: Path) -> None:
    edits = [
        replaced('timezone = "America/New_York"', 'timezone = "Mars/Olympus"'),
        replaced("per_day = 0", "per_day = 0\nper_week = 3"),
        replaced('days = ["mon", "wed", "fri"]', 'days = ["mon", "fry"]'),
        replaced("tests_per_week = 2", 'tests_per_week = "two"'),
    ]
    text = EXAMPLE
    for edit in edits:
        text = edit(text)
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")

    result = check("--config", "bad.toml")

    assert result.exit_code == 2
    assert result.stdout == ""
    paths = [line.split(": ")[2] for line in result.stderr.splitlines()]
    assert sorted(paths) == sorted(
        [
            "site.timezone",
            "policy.per_week",
            "tracks.morning.days[1]",
            "phases.1.tests_per_week",
        ]
    )
    assert all(line.startswith("error: bad.toml: ") for line in result.stderr.splitlines())


def test_every_unknown_track_is_listed_at_once(tmp_path: Path) -> None:
    text = appended(
        "[phases.1.by_track.night]\ntests_per_week = 3\n"
        "[phases.2.by_track.noon]\ntests_per_week = 1\n"
    )(EXAMPLE)
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")

    result = check("--config", "bad.toml")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: bad.toml: phases.1.by_track.night: unknown track 'night'; "
        "known tracks: evening, morning",
        "error: bad.toml: phases.2.by_track.noon: unknown track 'noon'; "
        "known tracks: evening, morning",
    ]


def test_field_problems_and_unknown_tracks_are_listed_together(tmp_path: Path) -> None:
    text = appended("[phases.1.by_track.night]\ntests_per_week = 3\n")(
        replaced('timezone = "America/New_York"', 'timezone = "Mars/Olympus"')(EXAMPLE)
    )
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")

    result = check("--config", "bad.toml")

    assert result.exit_code == 2
    paths = sorted(line.split(": ")[2] for line in result.stderr.splitlines())
    assert paths == ["phases.1.by_track.night", "site.timezone"]


# Discovery: --config, then $SCREENING_CONFIG, then ./screening.toml, then the user dir.


@pytest.fixture
def three_configs(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "screening.toml").write_text(with_site("here"), encoding="utf-8")
    (tmp_path / "from-env.toml").write_text(with_site("env"), encoding="utf-8")
    (tmp_path / "from-option.toml").write_text(with_site("option"), encoding="utf-8")
    return {"SCREENING_CONFIG": str(tmp_path / "from-env.toml")}


def site_of(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("site ")]
    return line.removeprefix("site ").split(",")[0]


def test_config_option_beats_the_variable_and_the_folder(three_configs: dict[str, str]) -> None:
    assert site_of(check("--config", "from-option.toml", env=three_configs)) == "option"


def two_clinics(named: Path) -> str:
    return (
        f"error: two clinics apply here: $SCREENING_CONFIG names {named} and this folder "
        "has ./screening.toml; pass --config to choose one, or unset SCREENING_CONFIG\n"
    )


def test_the_variable_naming_another_clinic_than_the_folder_is_refused(
    three_configs: dict[str, str], tmp_path: Path
) -> None:
    """Client codes overlap between clinics: in one clinic's folder, a variable left
    pointing at another's config would have the command write to the other's record."""
    result = check(env=three_configs)

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == two_clinics(tmp_path / "from-env.toml")


def test_the_folder_is_refused_from_the_other_clinic_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other way round: this folder's config named, from another clinic's folder."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "screening.toml").write_text(with_site("a"), encoding="utf-8")
    (tmp_path / "b" / "screening.toml").write_text(with_site("b"), encoding="utf-8")
    env = {"SCREENING_CONFIG": str(tmp_path / "a" / "screening.toml")}

    assert site_of(CliRunner().invoke(app, ["config", "check"], env=env)) == "a"
    monkeypatch.chdir(tmp_path / "b")
    result = check(env=env)

    assert result.exit_code == 3
    assert result.stderr == two_clinics(tmp_path / "a" / "screening.toml")


@pytest.mark.parametrize("how", ["relative", "symlink", "hardlink"])
def test_the_variable_naming_the_folders_own_config_is_used(
    three_configs: dict[str, str], tmp_path: Path, how: str
) -> None:
    if how == "relative":
        named = "screening.toml"
    else:
        named = str(tmp_path / "link.toml")
        link = os.symlink if how == "symlink" else os.link
        link(tmp_path / "screening.toml", named)

    assert site_of(check(env={"SCREENING_CONFIG": named})) == "here"


def test_the_variable_is_used_where_the_folder_has_no_config(
    three_configs: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "screening.toml").unlink()

    assert site_of(check(env=three_configs)) == "env"


def test_config_option_settles_which_clinic(three_configs: dict[str, str]) -> None:
    assert site_of(check("--config", "from-env.toml", env=three_configs)) == "env"
    assert site_of(check("--config", "screening.toml", env=three_configs)) == "here"


def test_the_folder_config_is_used_when_nothing_names_one(three_configs: dict[str, str]) -> None:
    result = check()

    assert site_of(result) == "here"
    assert result.stdout.startswith(f"{Path.cwd() / 'screening.toml'}: valid\n")


def test_the_user_config_dir_is_the_last_resort(tmp_path: Path) -> None:
    user_config = tmp_path / "home" / ".config" / "screening" / "screening.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text(with_site("home"), encoding="utf-8")

    assert site_of(check()) == "home"


def test_a_named_config_that_is_missing_is_not_replaced_by_another(
    three_configs: dict[str, str], tmp_path: Path
) -> None:
    result = check("--config", "missing.toml", env=three_configs)

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        "error: no configuration at missing.toml; check the path, or cd into the clinic's folder\n"
    )


def test_no_config_anywhere_names_where_it_looked_and_not_init(tmp_path: Path) -> None:
    """Outside the clinic's folder, `init` would make a second clinic with a new key."""
    result = check()

    assert result.exit_code == 3
    assert result.stdout == ""
    user = tmp_path / "home" / ".config" / "screening" / "screening.toml"
    assert result.stderr == (
        "error: no clinic configuration found (looked for --config, $SCREENING_CONFIG, "
        f"{tmp_path / 'screening.toml'} and {user}); cd into the clinic's folder, or pass "
        "--config PATH\n"
    )


def test_every_key_of_the_example_config_has_a_comment() -> None:
    """Staff edit this file by hand: each setting says what it does (issue 2)."""
    from screening.services.site.setup import example_config

    lines = example_config().splitlines()
    uncommented = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "[", '"')) or "=" not in stripped:
            continue
        above = lines[number - 1].strip() if number else ""
        if not above.startswith("#") and "#" not in stripped:
            uncommented.append(stripped)
    assert uncommented == []
