"""The TOML configuration: discovery, validation and the settings the rest reads.

Validation names each problem by its TOML path and says what would fix it, so that
`screening config check` can be read by clinic staff, not only programmers. This module
must stay cheap to import: no SQLAlchemy here (DESIGN §2).
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from screening.core.vocabulary import Vocabulary, build
from screening.errors import BadInput, EnvironmentProblem

CONFIG_NAME = "screening.toml"
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


class DatabaseSettings(_Strict):
    url: str = "sqlite:///screening.db"


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


RUN_AT = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$")


def run_at_time(value: str) -> tuple[int, int, int]:
    """``"HH:MM"`` (or ``"HH:MM:SS"``) as hour, minute, second."""
    match = RUN_AT.match(value)
    if match is None:
        raise ValueError(f'{value!r} is not a time of day; write it as "HH:MM", e.g. "06:30"')
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def _run_at(value: str) -> str:
    hour, _, _ = run_at_time(value)
    if 1 <= hour < 3:
        raise ValueError(
            f"{value} is when clocks change for daylight saving time: on the fall-back day "
            "the job would fire twice and on the spring-forward day it would move; choose "
            'a time outside 01:00-03:00, e.g. "06:30"'
        )
    return value


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


class _File(_Strict):
    site: SiteSettings
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


def _toml_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _pydantic_problem(error: dict[str, Any]) -> str:
    path = _toml_path(tuple(error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        return (
            f"{path}: unknown setting; remove it or check its spelling against config.example.toml"
        )
    if kind == "missing":
        return f"{path}: missing; add it (see config.example.toml)"
    if kind == "value_error":
        return f"{path}: {error['ctx']['error']}"
    if kind == "literal_error":
        return f"{path}: {error['input']!r} is not allowed; use {error['ctx']['expected']}"
    return f"{path}: {error['msg']} (got {error.get('input')!r})"


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _key_problem(name: str) -> str | None:
    """Track and phase names become keys of the policy entry in the ledger."""
    if name.isascii() and name.isprintable() and name.strip() == name and name:
        return None
    suggestion = "".join(
        char for char in unicodedata.normalize("NFKD", name) if char.isascii()
    ).strip()
    return (
        f"the name {name!r} is not plain ASCII; track and phase names are keys of the "
        "policy entry in the ledger, and ledger entries keep to the JSON that every RFC 8785 "
        "(JCS) canonicaliser writes byte for byte alike: ASCII keys (RFC 8785 orders keys "
        "by UTF-16 code units, this program by code points, and for some non-ASCII names "
        "the two differ, so an auditor's tool could not reproduce the entry's hash). "
        "Rename it with ASCII letters, digits, - or _"
        + (f" (e.g. {suggestion!r})" if suggestion and suggestion != name else "")
        + "; a track or phase can still be described in words in your own documents"
    )


def _cross_checks(raw: dict[str, Any]) -> list[str]:
    """Checks across settings, on the raw document so that they run (and are all
    reported) even when some field fails its own validation."""
    problems: list[str] = []
    tracks, phases = _table(raw.get("tracks")), _table(raw.get("phases"))
    for table, names in (("tracks", tracks), ("phases", phases)):
        for name in names:
            problem = _key_problem(name)
            if problem:
                problems.append(f"{table}.{name}: {problem}")
    if "tracks" in raw and not tracks:
        problems.append("tracks: no track defined; add at least one [tracks.NAME] with days")
    if "phases" in raw and not phases:
        problems.append("phases: no phase defined; add at least one [phases.NAME]")
    for name, phase in phases.items():
        phase = _table(phase)
        by_track = _table(phase.get("by_track"))
        for path, rate in [
            (f"phases.{name}", phase),
            *((f"phases.{name}.by_track.{t}", _table(r)) for t, r in by_track.items()),
        ]:
            if "tests_per_week" in rate and "daily_probability" in rate:
                problems.append(f"{path}: give tests_per_week or daily_probability, not both")
        if "tests_per_week" not in phase and "daily_probability" not in phase:
            problems.append(
                f"phases.{name}: no rate; add tests_per_week (e.g. 2) or daily_probability"
            )
        for track in by_track:
            if tracks and track not in tracks:
                problems.append(
                    f"phases.{name}.by_track.{track}: unknown track {track!r}; "
                    f"known tracks: {', '.join(sorted(tracks))}"
                )
        low, high = phase.get("min_days_between_tests"), phase.get("max_days_between_tests")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(
                f"phases.{name}: min_days_between_tests ({low}) is more than "
                f"max_days_between_tests ({high})"
            )
    panels = _table(raw.get("panels"))
    for name, panel in panels.items():
        if _table(panel).get("analytes") == {}:
            problems.append(f"panels.{name}.analytes: empty; list the analyte codes tested")
    vocabulary, vocabulary_problems = build_vocabulary(raw)
    problems += vocabulary_problems
    for name, panel in panels.items():
        for code in _table(_table(panel).get("analytes")):
            if vocabulary is not None and isinstance(code, str) and code not in vocabulary.assays:
                close = vocabulary.suggest_assay(code, vocabulary.assays)
                problems.append(
                    f"panels.{name}.analytes.{code}: not an assay the vocabulary knows"
                    + (f"; did you mean {' or '.join(close)}?" if close else "")
                    + f" (or describe it under [assays.{code}] with detects = [...])"
                )
    default_panel = _table(raw.get("results")).get("default_panel", "urine")
    if panels and default_panel not in panels:
        problems.append(
            f"results.default_panel: no panel {default_panel!r}; "
            f"panels: {', '.join(sorted(panels))}"
        )
    problem = _run_at_in_zone(raw)
    if problem:
        problems.append(problem)
    witness = _table(raw.get("witness"))
    smtp = _table(raw.get("notify")).get("smtp")
    if witness.get("email") and not isinstance(smtp, dict):
        problems.append(
            "witness.email: e-mail to witnesses goes through the server of [notify.smtp]; "
            "add a [notify.smtp] table (host, sender) or remove witness.email"
        )
    if isinstance(smtp, dict) and not smtp.get("to") and not witness.get("email"):
        problems.append(
            "notify.smtp.to: missing; add the addresses the day's list goes to "
            '(e.g. to = ["front-desk@example.org"])'
        )
    return problems


def _run_at_in_zone(raw: dict[str, Any]) -> str | None:
    """Beyond 01:00-03:00: the site's own zone may change its clocks at another hour
    (03:00 in Helsinki, midnight in Havana). Refuse a run_at that is skipped or repeated
    there on any day of the next three years."""
    from datetime import UTC, datetime, time, timedelta

    run_at = _table(raw.get("schedule")).get("run_at", "06:30")
    zone_name = _table(raw.get("site")).get("timezone")
    try:
        hour, minute, second = run_at_time(run_at)
        zone = ZoneInfo(zone_name)
    except (ValueError, TypeError, ZoneInfoNotFoundError):
        return None  # reported by the fields' own checks
    if 1 <= hour < 3:
        return None  # reported by the field's own check
    day = datetime.now(zone).date()
    for _ in range(3 * 366):
        local = datetime.combine(day, time(hour, minute, second))
        first, second_ = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
        if first.utcoffset() != second_.utcoffset():
            skipped = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local
            return (
                f"schedule.run_at: {run_at} {'does not exist' if skipped else 'happens twice'} "
                f"in {zone_name} on {day}, when its clocks change; choose a time an hour or "
                "more away from it"
            )
        day += timedelta(days=1)
    return None


@lru_cache(maxsize=1)
def shipped_vocabulary() -> dict[str, Any]:
    """The vocabulary shipped in the package, as parsed TOML (read once)."""
    text = files("screening").joinpath("data/vocabulary.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def build_vocabulary(raw: dict[str, Any]) -> tuple[Vocabulary | None, list[str]]:
    """The shipped vocabulary with the config's [analytes], [assays] and [medications]."""
    extension = {key: _table(raw.get(key)) for key in ("analytes", "assays", "medications")}
    return build(shipped_vocabulary(), extension)


def parse(raw: dict[str, Any], path: Path) -> tuple[Settings | None, list[str]]:
    """Validate a parsed TOML document. Returns settings, or None and every problem."""
    problems: list[str] = []
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as error:
        problems = [_pydantic_problem(item) for item in error.errors()]
    problems += _cross_checks(raw)
    if problems:
        return None, problems
    vocabulary, _ = build_vocabulary(raw)
    folder = path.parent
    key_file = Path(parsed.keys.file)
    witness_key_file = Path(parsed.keys.witness_file)
    return (
        Settings(
            path=path,
            site=parsed.site,
            database_url=parsed.database.url,
            key_file=key_file if key_file.is_absolute() else folder / key_file,
            witness_key_file=(
                witness_key_file if witness_key_file.is_absolute() else folder / witness_key_file
            ),
            policy=parsed.policy,
            tracks=dict(parsed.tracks),
            phases=dict(parsed.phases),
            panels=dict(parsed.panels),
            vocabulary=vocabulary,  # type: ignore[arg-type]
            validity=parsed.validity,
            results=parsed.results,
            schedule=parsed.schedule,
            notify=parsed.notify,
            witness=parsed.witness,
        ),
        [],
    )


def user_config_path() -> Path:
    from typer import get_app_dir

    return Path(get_app_dir("screening")) / CONFIG_NAME


def discover(explicit: Path | None) -> Path:
    """``--config``, else ``$SCREENING_CONFIG``, else ``./screening.toml``, else the user dir."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get("SCREENING_CONFIG")
    if from_env:
        return Path(from_env)
    here = Path.cwd() / CONFIG_NAME
    if here.exists():
        return here
    user = user_config_path()
    return user if user.exists() else here


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise EnvironmentProblem(
            f"no configuration at {path}; run `screening init` there, or pass --config PATH"
        ) from None
    except PermissionError:
        raise EnvironmentProblem(f"cannot read {path}: permission denied") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"{path}: not valid TOML ({error}); fix that line") from None


def load(path: Path) -> Settings:
    """Read and validate; the first problem becomes the error."""
    settings, problems = parse(read_toml(path), path.absolute())
    if settings is None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BadInput(
            f"{path}: {problems[0]}{more}; run `screening config check` for every problem"
        )
    return settings


def phase_probability(settings: Settings, phase: str, track: str) -> Fraction:
    """The daily selection probability for a phase on a track, capped at 1 (DESIGN §5)."""
    config = settings.phases[phase]
    override = config.by_track.get(track)
    has_rate = override is not None and (
        override.tests_per_week is not None or override.daily_probability is not None
    )
    rate: PhaseRate = override if has_rate else config  # type: ignore[assignment]
    if rate.daily_probability is not None:
        return min(rate.daily_probability, Fraction(1))
    per_week = rate.tests_per_week or Fraction(0)
    days = 7 if settings.policy.days == "calendar" else len(settings.tracks[track].days)
    return min(per_week / days, Fraction(1))
