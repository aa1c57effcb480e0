"""The settings model: what each TOML table may hold, and the Settings the rest reads.

Each field checks its own value and words the problem for clinic staff; checks across
tables live in config/checks.py. `phase_probability` reads a phase's rate off Settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from screening.config.beacon import BeaconSettings
from screening.config.labs import LabsSettings
from screening.core.vocabulary import Vocabulary

WITNESS_FOLDER = "screening-witness"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SITE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def _rate(value: Any) -> Fraction:
    """A number of tests: 2, 0.5 or "1/2", kept as an exact fraction."""
    if isinstance(value, bool):
        raise ValueError(f'{value!r} is not a number; write a number such as 2, 0.5 or "1/2"')
    try:
        if isinstance(value, float):
            rate = Fraction(str(value))
        elif isinstance(value, (int, str)):
            rate = Fraction(value)
        else:
            raise TypeError
    except (ValueError, TypeError, ZeroDivisionError):
        raise ValueError(
            f'{value!r} is not a number; write a number such as 2, 0.5 or "1/2"'
        ) from None
    if rate < 0:
        raise ValueError(f"{value!r} is negative; write 0 or more")
    return rate


def _probability(value: Any) -> Fraction:
    if not isinstance(value, str):
        raise ValueError(f'{value!r} must be a fraction in quotes, such as "1/5"')
    rate = _rate(value)
    if rate > 1:
        raise ValueError(f"{value!r} is more than 1; a daily probability is between 0 and 1")
    return rate


Rate = Annotated[Fraction, BeforeValidator(_rate)]
Probability = Annotated[Fraction, BeforeValidator(_probability)]
PositiveDays = Annotated[int, Field(ge=1, le=366, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteSettings(_Strict):
    name: str
    timezone: str
    # The program's name as letters and exports to outside recipients print it (42 CFR
    # 2.31(a)(2) names the program that discloses); the site's name when not set.
    program: str | None = Field(default=None, min_length=1, max_length=120)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not SITE_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a site name; use up to 32 lower-case letters, digits, - or _"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'{value!r} is not an IANA time zone; use a name such as "America/New_York"'
            ) from None
        return value


class LocaleSettings(_Strict):
    # How staff write dates in CSV files and on the command line, besides YYYY-MM-DD
    # (always accepted): Excel saves dates in the style of the computer's region.
    date_format: Literal["YYYY-MM-DD", "MM/DD/YYYY", "DD/MM/YYYY"] = "YYYY-MM-DD"


class DatabaseSettings(_Strict):
    url: str = "sqlite:///screening.db"
    # The OS group whose members share a SQLite clinic (`init --group`): its files are
    # then group-readable and -writable, its keys group-readable, and accepted as such.
    group: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")] | None = None


class KeySettings(_Strict):
    file: str = "screening.key"
    # The Ed25519 key that signs checkpoints for the witnesses (issue 14): kept apart
    # from the master key, which draws; this one only vouches for the ledger's head.
    witness_file: str = "screening-witness.key"


class PolicySettings(_Strict):
    days: Literal["meeting", "calendar"] = "meeting"
    collect_within_hours: Annotated[int, Field(ge=1, le=24, strict=True)] = 12
    per_day: Annotated[int, Field(ge=0, strict=True)] = 0


def _weekday(value: str) -> str:
    if value not in WEEKDAYS:
        raise ValueError(f"{value!r} is not a weekday; use {', '.join(WEEKDAYS)}")
    return value


class Track(_Strict):
    days: tuple[Annotated[str, AfterValidator(_weekday)], ...]

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("a track needs at least one meeting weekday")
        if len(set(value)) != len(value):
            raise ValueError("a weekday is listed twice")
        return tuple(sorted(value, key=WEEKDAYS.index))


class PhaseRate(_Strict):
    tests_per_week: Rate | None = None
    daily_probability: Probability | None = None


class Phase(PhaseRate):
    max_days_between_tests: PositiveDays | None = None
    min_days_between_tests: PositiveDays | None = None
    by_track: dict[str, PhaseRate] = {}


def _measure(value: Any) -> Decimal:
    """A cutoff or threshold: a non-negative number, kept exact (never a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{value!r} must be a number of 0 or more")
    return number


Measure = Annotated[Decimal, BeforeValidator(_measure)]
ANALYTE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")


class Analyte(_Strict):
    initial: Measure | None = None
    confirm: Measure | None = None


class Panel(_Strict):
    specimen: Literal["urine", "oral_fluid", "breath", "blood", "hair", "sweat"]
    analytes: dict[str, Analyte]

    @field_validator("analytes")
    @classmethod
    def _codes(cls, value: dict[str, Analyte]) -> dict[str, Analyte]:
        for code in value:
            if not ANALYTE_PATTERN.match(code):
                raise ValueError(
                    f"analyte code {code!r} is not usable; use up to 16 capital letters "
                    "and digits, as the lab reports it (e.g. BUP)"
                )
        return value


class ValiditySettings(_Strict):
    """Specimen validity thresholds (49 CFR 40.88, HHS Mandatory Guidelines 3.8); defaults
    are the federal ones."""

    version: str = "49cfr40-2024"
    dilute_creatinine_below: Measure = Decimal("20")
    dilute_sg_below: Measure = Decimal("1.0030")
    substituted_creatinine_below: Measure = Decimal("2")
    substituted_sg_at_most: Measure = Decimal("1.0010")
    substituted_sg_at_least: Measure = Decimal("1.0200")
    adulterated_ph_below: Measure = Decimal("4")
    adulterated_ph_at_least: Measure = Decimal("11")
    invalid_ph_below: Measure = Decimal("4.5")
    invalid_ph_at_least: Measure = Decimal("9")
    recollect_dilute_creatinine_at_most: Measure = Decimal("5")


class ResultSettings(_Strict):
    missed_counts_as: Literal["positive", "missed"] = "positive"
    default_method: Literal["point_of_care", "lab"] = "point_of_care"
    default_panel: str = "urine"


RUN_AT = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$")


def run_at_time(value: str) -> tuple[int, int, int]:
    """``"HH:MM"`` (or ``"HH:MM:SS"``, or ``"6:30"`` as people write it) as hour, minute,
    second."""
    match = RUN_AT.fullmatch(value)
    if match is None:
        raise ValueError(f'{value!r} is not a time of day; write it as "HH:MM", e.g. "06:30"')
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def _run_at(value: str) -> str:
    """The time as every output shows it: "6:30" is kept as "06:30"."""
    hour, minute, second = run_at_time(value)
    return f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if second else "")


class ScheduleSettings(_Strict):
    run_at: Annotated[str, AfterValidator(_run_at)] = "06:30"
    upkeep_minutes: int = Field(default=5, ge=1, le=60)


class SmtpSettings(_Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    sender: str
    # Who receives the day's list; may be left out when the server only carries the
    # checkpoints to [witness] email.
    to: list[str] = []
    ca_file: str | None = None
    include_names: bool = False

    @field_validator("starttls")
    @classmethod
    def _starttls(cls, value: bool, info: Any) -> bool:
        host = info.data.get("host", "")
        if not value and host not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError(
                f"starttls = false would send treatment records in the clear to {host}; "
                "keep it true (only a relay on this machine, localhost, may go without)"
            )
        return value


class NotifySettings(_Strict):
    directory: str | None = None
    command: list[str] | None = Field(default=None, min_length=1)
    smtp: SmtpSettings | None = None
    retry_minutes: int = Field(default=10, ge=1, le=240)
    retries: int = Field(default=6, ge=0, le=100)


def _argv(value: list[str]) -> list[str]:
    if not value or not value[0].strip():
        raise ValueError(
            'a command is a list of its program and arguments, e.g. ["/usr/local/bin/ship", '
            '"--to", "auditor"]; this one is empty'
        )
    return value


def _address(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an e-mail address; write it as name@example.org")
    return value


def _folder(value: str) -> str:
    if not value.strip():
        raise ValueError('a folder is a path, e.g. "/mnt/auditor/screening"; this one is empty')
    return value


class WitnessSettings(_Strict):
    """Where the signed checkpoints and anchors go, outside the database (issue 14). The
    folder ``screening-witness`` beside the config is always written as well."""

    folders: list[Annotated[str, AfterValidator(_folder)]] = []
    email: list[Annotated[str, AfterValidator(_address)]] = []
    commands: list[Annotated[list[str], AfterValidator(_argv)]] = []
    max_age_days: int = Field(default=2, ge=1, le=366, strict=True)


class Document(_Strict):
    """The TOML document, table by table; `parse` (config/checks.py) makes it Settings."""

    site: SiteSettings
    locale: LocaleSettings = LocaleSettings()
    database: DatabaseSettings = DatabaseSettings()
    keys: KeySettings = KeySettings()
    policy: PolicySettings = PolicySettings()
    tracks: dict[str, Track]
    phases: dict[str, Phase]
    panels: dict[str, Panel] = {}
    # Extensions of the shipped vocabulary (screening/data/vocabulary.toml), checked by
    # core.vocabulary.build with the problems worded by their TOML paths.
    analytes: dict[str, Any] = {}
    assays: dict[str, Any] = {}
    medications: dict[str, Any] = {}
    validity: ValiditySettings = ValiditySettings()
    results: ResultSettings = ResultSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    notify: NotifySettings = NotifySettings()
    witness: WitnessSettings = WitnessSettings()
    labs: LabsSettings = LabsSettings()
    beacon: BeaconSettings = BeaconSettings()


@dataclass(frozen=True)
class Settings:
    """A validated configuration and where it came from."""

    path: Path
    site: SiteSettings
    database_url: str
    key_file: Path
    witness_key_file: Path
    policy: PolicySettings
    tracks: dict[str, Track]
    phases: dict[str, Phase]
    panels: dict[str, Panel]
    vocabulary: Vocabulary
    validity: ValiditySettings
    results: ResultSettings
    schedule: ScheduleSettings = ScheduleSettings()
    notify: NotifySettings = NotifySettings()
    witness: WitnessSettings = WitnessSettings()
    locale: LocaleSettings = LocaleSettings()
    database_group: str | None = None
    labs: LabsSettings = LabsSettings()
    beacon: BeaconSettings = BeaconSettings()

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def witness_folder(self) -> Path:
        """The witness folder always written: it defeats an intruder who reaches the
        database only. Folders on other disks or shares ([witness] folders) do more."""
        return self.folder / WITNESS_FOLDER

    @property
    def witness_folders(self) -> list[Path]:
        """Every witness folder, the local one first; relative ones from the config's."""
        folders = [self.witness_folder]
        for name in self.witness.folders:
            path = Path(name).expanduser()
            path = path if path.is_absolute() else self.folder / path
            if path not in folders:
                folders.append(path)
        return folders

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)


def phase_probability(settings: Settings, phase: str, track: str) -> Fraction:
    """The daily selection probability for a phase on a track, capped at 1 (DESIGN §5)."""
    config = settings.phases[phase]
    override = config.by_track.get(track)
    rate: PhaseRate = config
    if override is not None and (
        override.tests_per_week is not None or override.daily_probability is not None
    ):
        rate = override
    if rate.daily_probability is not None:
        return min(rate.daily_probability, Fraction(1))
    per_week = rate.tests_per_week or Fraction(0)
    days = 7 if settings.policy.days == "calendar" else len(settings.tracks[track].days)
    return min(per_week / days, Fraction(1))
