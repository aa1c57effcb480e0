"""From a parsed TOML document to Settings, or to every problem `config check` prints.

Each problem is named by its TOML path and says what would fix it, so clinic staff can
read it. Checks across tables run on the raw document, so they are all reported even
when a field fails its own validation. The vocabulary is the shipped one
(screening/data/vocabulary.toml) extended by the config's own tables.
"""

from __future__ import annotations

import tomllib
import unicodedata
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from screening.config.labs import lab_problems
from screening.config.model import Document, Settings, run_at_time
from screening.core.vocabulary import Vocabulary, build

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


def _toml_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _pydantic_problem(error: ErrorDetails) -> str:
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
    if vocabulary is not None:
        problems += lab_problems(raw.get("labs"), vocabulary.assays)
    default_panel = _table(raw.get("results")).get("default_panel", "urine")
    if panels and default_panel not in panels:
        problems.append(
            f"results.default_panel: no panel {default_panel!r}; "
            f"panels: {', '.join(sorted(panels))}"
        )
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


def run_at_notes(settings: Settings, today: date, years: int = 3) -> list[str]:
    """What the daily job does on the days the site's clocks change, when run_at is
    skipped or repeated then (02:30 in New York, 00:30 in Havana, 03:30 in Helsinki): it
    still fires once that local day (core/run_times.py), and staff should know when."""
    from datetime import UTC, datetime, time, timedelta

    from screening.core.run_times import fire_time

    run_at, zone = settings.schedule.run_at, settings.zone
    at = time(*run_at_time(run_at))
    # The next day run_at is skipped, and the next it is repeated (each year alike).
    notes: dict[bool, tuple[date, str]] = {}
    day = today
    for _ in range(years * 366):
        wall = datetime.combine(day, at)
        early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
        skipped = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall
        if early.utcoffset() != late.utcoffset() and skipped not in notes:
            fire = fire_time(day, at, zone).astimezone(zone)
            notes[skipped] = (
                day,
                (
                    f"schedule.run_at: {run_at} does not exist in {zone.key} on {day} (clocks "
                    f"spring forward): the draw fires at {fire:%H:%M} that day"
                    if skipped
                    else f"schedule.run_at: {run_at} happens twice in {zone.key} on {day} "
                    f"(clocks fall back): the draw fires once, at the first {run_at} "
                    f"({fire:%H:%M %Z})"
                ),
            )
            if len(notes) == 2:
                break
        day += timedelta(days=1)
    return [text for _, text in sorted(notes.values())]


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
        parsed = Document.model_validate(raw)
    except ValidationError as error:
        problems = [_pydantic_problem(item) for item in error.errors()]
    problems += _cross_checks(raw)
    if problems:
        return None, problems
    vocabulary, _ = build_vocabulary(raw)
    assert vocabulary is not None  # else _cross_checks reported its problems
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
            vocabulary=vocabulary,
            validity=parsed.validity,
            results=parsed.results,
            schedule=parsed.schedule,
            notify=parsed.notify,
            witness=parsed.witness,
            locale=parsed.locale,
            database_group=parsed.database.group,
            labs=parsed.labs,
            beacon=parsed.beacon,
        ),
        [],
    )
