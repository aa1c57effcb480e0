"""The vocabulary results are read with: analytes, assays (what a cup or lab reports, by
the codes panels use) and what each detects, and medications with their brand names and
synonyms, mapped to the analytes they produce.

Pure: the shipped table (``screening/data/vocabulary.toml``) and the config's extension
come in as parsed TOML; ``build`` returns the vocabulary or every problem found.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
MEDICATION_NAME = re.compile(r"^[a-z][a-z0-9 -]{0,63}$")


def fold(text: str) -> str:
    """The key a name is looked up by: letters and digits only, lower case, so that
    "Tylenol #3", "tylenol 3" and "TYLENOL-3" are one name."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class Analyte:
    code: str
    name: str


@dataclass(frozen=True)
class Assay:
    code: str
    name: str
    detects: frozenset[str]  # reliably, at the usual cutoff
    may_detect: frozenset[str] = frozenset()  # cross-reacts: explains a positive only
    aliases: tuple[str, ...] = ()
    unit: str = "ng/mL"
    # LOINC "[Presence] in Urine by Screen method" code of a urine screen for what the
    # assay detects (FHIR export); None where LOINC has none or the assay is not urine
    loinc: str | None = None

    def sees(self, analytes: Iterable[str]) -> bool:
        return bool((self.detects | self.may_detect) & set(analytes))


@dataclass(frozen=True)
class Medication:
    name: str
    produces: frozenset[str]
    parent: str | None = None
    metabolites: frozenset[str] = frozenset()
    brands: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    explains: frozenset[str] = frozenset()  # assay codes a clinic's config names outright


@dataclass(frozen=True)
class Unknown:
    """A name the vocabulary does not know, with the names it is closest to."""

    name: str
    suggestions: tuple[str, ...]

    def did_you_mean(self) -> str:
        if not self.suggestions:
            return ""
        return "; did you mean " + " or ".join(self.suggestions) + "?"


@dataclass(frozen=True)
class Vocabulary:
    version: str
    analytes: dict[str, Analyte]
    assays: dict[str, Assay]
    medications: dict[str, Medication]
    _names: dict[str, str] = field(default_factory=dict)  # folded name -> medication
    _assay_names: dict[str, str] = field(default_factory=dict)  # folded alias -> assay

    # ------------------------------------------------------------- medications
    def medication(self, name: str) -> str | None:
        """The generic name a medication is kept under, or None if unknown."""
        return self._names.get(fold(name))

    def resolve_medication(self, name: str) -> str | Unknown:
        found = self.medication(name)
        if found is not None:
            return found
        words = {fold(key): key for key in self._spellings()}
        close = difflib.get_close_matches(fold(name), list(words), n=3, cutoff=0.75)
        names = []
        for key in close:
            generic = self._names[key]
            spelled = words[key]
            names.append(generic if fold(spelled) == fold(generic) else f"{spelled} ({generic})")
        return Unknown(name, tuple(dict.fromkeys(names)))

    def _spellings(self) -> list[str]:
        spelled = []
        for med in self.medications.values():
            spelled += [med.name, *med.brands, *med.synonyms]
        return spelled

    def canonical_list(self, names: Iterable[str]) -> tuple[list[str], list[str]]:
        """Stored names as generic names (synonyms mapped), and the ones not known."""
        known, unknown = set(), []
        for name in names:
            generic = self.medication(name)
            if generic is None:
                unknown.append(name)
            else:
                known.add(generic)
        return sorted(known), unknown

    # ------------------------------------------------------------- assays
    def assay(self, text: str) -> str | None:
        """The assay code a lab or staff member means by ``text`` (its code or alias)."""
        code = text.strip().upper()
        if code in self.assays:
            return code
        return self._assay_names.get(fold(text))

    def suggest_assay(self, text: str, among: Iterable[str]) -> tuple[str, ...]:
        among = list(among)
        spellings = {code: code for code in among}
        for code in among:
            assay = self.assays.get(code)
            for alias in assay.aliases if assay else ():
                spellings[alias.upper()] = code
        close = difflib.get_close_matches(text.strip().upper(), list(spellings), n=3, cutoff=0.6)
        return tuple(dict.fromkeys(spellings[word] for word in close))

    def explaining(self, assay_code: str, medications: Iterable[str]) -> list[str]:
        """The medications (generic names) that explain a positive on this assay."""
        assay = self.assays.get(assay_code)
        found = []
        for name in medications:
            med = self.medications.get(name)
            if med is None:
                continue
            if assay_code in med.explains or (assay is not None and assay.sees(med.produces)):
                found.append(name)
        return found

    def reliably_tested(self, name: str, assay_codes: Iterable[str]) -> list[str]:
        """The assays among ``assay_codes`` that reliably detect what ``name`` produces."""
        med = self.medications.get(name)
        if med is None:
            return []
        found = []
        for code in assay_codes:
            assay = self.assays.get(code)
            if code in med.explains or (assay is not None and assay.detects & med.produces):
                found.append(code)
        return found

    def seen_by(self, name: str, assay_codes: Iterable[str]) -> list[str]:
        """The assays among ``assay_codes`` that detect or may detect what ``name``
        produces: those a negative of which would say something about the medication."""
        return [code for code in assay_codes if name in self.explaining(code, [name])]

    def tamper_check(self, name: str, assay_codes: Iterable[str]) -> tuple[list[str], list[str]]:
        """(assays that see the parent drug, assays that see only its metabolites)."""
        med = self.medications.get(name)
        if med is None or med.parent is None or not med.metabolites:
            return [], []
        parents, metabolites = [], []
        for code in assay_codes:
            assay = self.assays.get(code)
            if assay is None:
                continue
            seen = assay.detects | assay.may_detect
            if med.parent in assay.detects:
                parents.append(code)
            elif seen & med.metabolites and med.parent not in seen:
                metabolites.append(code)
        return parents, metabolites

    def analyte_name(self, code: str) -> str:
        assay = self.assays.get(code)
        return assay.name if assay else code

    def loinc(self, code: str) -> str | None:
        assay = self.assays.get(code)
        return assay.loinc if assay else None

    def unit(self, code: str) -> str:
        assay = self.assays.get(code)
        return assay.unit if assay else "ng/mL"


def _strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.append(f'{where}: write a list of names in brackets, e.g. ["X"]')
        return ()
    if not all(isinstance(item, str) and item.strip() for item in value):
        problems.append(f"{where}: every entry must be a non-empty name in quotes")
        return ()
    return tuple(value)


LOINC = re.compile(r"^[0-9]{1,7}-[0-9]$")


def _loinc(value: Any, where: str, problems: list[str]) -> str | None:
    if value is None or (isinstance(value, str) and LOINC.match(value)):
        return value
    problems.append(f'{where}.loinc: not a LOINC code; write it in quotes, e.g. "14314-9"')
    return None


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


ANALYTE_KEYS = {"name"}
ASSAY_KEYS = {"name", "detects", "may_detect", "aliases", "unit", "loinc"}
MEDICATION_KEYS = {
    "produces",
    "parent",
    "metabolites",
    "metabolite",
    "brands",
    "synonyms",
    "explains",
}


def build(
    shipped: Mapping[str, Any], extension: Mapping[str, Any] | None = None
) -> tuple[Vocabulary | None, list[str]]:
    """The shipped vocabulary with a config's ``[analytes]``, ``[assays]`` and
    ``[medications]`` over it (a table there adds an entry or overrides the fields it
    gives). Problems are worded by the config's TOML path."""
    problems: list[str] = []
    extension = extension or {}
    analytes: dict[str, Analyte] = {}
    for table in (shipped.get("analytes"), extension.get("analytes")):
        for code, raw in _table(table).items():
            where = f"analytes.{code}"
            raw = _table(raw)
            extra = sorted(set(raw) - ANALYTE_KEYS)
            if not CODE.match(code):
                problems.append(f"{where}: not a code; use up to 16 capital letters and digits")
                continue
            if extra:
                problems.append(f"{where}.{extra[0]}: unknown setting; use name")
            name = raw.get("name", analytes[code].name if code in analytes else code)
            analytes[code] = Analyte(code, str(name))
    assays: dict[str, Assay] = {}
    for table in (shipped.get("assays"), extension.get("assays")):
        for code, raw in _table(table).items():
            where = f"assays.{code}"
            raw = _table(raw)
            if not CODE.match(code):
                problems.append(f"{where}: not a code; use up to 16 capital letters and digits")
                continue
            extra = sorted(set(raw) - ASSAY_KEYS)
            if extra:
                problems.append(
                    f"{where}.{extra[0]}: unknown setting; use {', '.join(sorted(ASSAY_KEYS))}"
                )
            before = assays.get(code)
            detects = _strings(raw.get("detects"), f"{where}.detects", problems)
            may = _strings(raw.get("may_detect"), f"{where}.may_detect", problems)
            for analyte in (*detects, *may):
                if analyte not in analytes:
                    problems.append(
                        f"{where}: analyte {analyte!r} is unknown"
                        + Unknown(analyte, _close(analyte, analytes)).did_you_mean()
                        + " (add it under [analytes])"
                    )
            if before is None and not detects:
                problems.append(f"{where}.detects: missing; list the analytes this assay detects")
            assays[code] = Assay(
                code,
                str(raw.get("name", before.name if before else code)),
                frozenset(detects) if "detects" in raw or before is None else before.detects,
                frozenset(may) if "may_detect" in raw or before is None else before.may_detect,
                _strings(raw.get("aliases"), f"{where}.aliases", problems)
                + (before.aliases if before else ()),
                str(raw.get("unit", before.unit if before else "ng/mL")),
                _loinc(raw.get("loinc", before.loinc if before else None), where, problems),
            )
    medications: dict[str, Medication] = {}
    for table in (shipped.get("medications"), extension.get("medications")):
        for name, raw in _table(table).items():
            medication = _medication(name, _table(raw), medications.get(name), analytes, assays)
            if isinstance(medication, list):
                problems += medication
            else:
                medications[name] = medication
    names: dict[str, str] = {}
    for med in medications.values():
        for spelled in (med.name, *med.brands, *med.synonyms):
            key = fold(spelled)
            if names.get(key, med.name) != med.name:
                problems.append(
                    f"medications.{med.name}: {spelled!r} already names {names[key]}; "
                    "a name may mean one medication only"
                )
            names[key] = med.name
    assay_names: dict[str, str] = {}
    for assay in assays.values():
        for alias in assay.aliases:
            assay_names.setdefault(fold(alias), assay.code)
    version = shipped.get("version")
    if not isinstance(version, str) or not version:
        problems.append("the shipped vocabulary has no version")
    if problems:
        return None, problems
    return Vocabulary(str(version), analytes, assays, medications, names, assay_names), []


def _close(word: str, among: Iterable[str]) -> tuple[str, ...]:
    return tuple(difflib.get_close_matches(word, list(among), n=3, cutoff=0.6))


def _medication(
    name: str,
    raw: dict[str, Any],
    before: Medication | None,
    analytes: Mapping[str, Analyte],
    assays: Mapping[str, Assay],
) -> Medication | list[str]:
    where = f"medications.{name}"
    problems: list[str] = []
    if not MEDICATION_NAME.match(name):
        return [
            f"{where}: name the medication by its generic name in lower-case letters, "
            "digits, spaces or - (brand names go in brands = [...])"
        ]
    extra = sorted(set(raw) - MEDICATION_KEYS)
    if extra:
        problems.append(
            f"{where}.{extra[0]}: unknown setting; use produces, parent, metabolites, "
            "brands, synonyms (or explains, naming assays)"
        )
    produces = _strings(raw.get("produces"), f"{where}.produces", problems)
    metabolites = _strings(raw.get("metabolites"), f"{where}.metabolites", problems)
    if isinstance(raw.get("metabolite"), str):  # the config's older, single form
        metabolites += (raw["metabolite"],)
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append(f'{where}.parent: write the analyte code in quotes, e.g. "BUP"')
        parent = None
    explains = _strings(raw.get("explains"), f"{where}.explains", problems)
    brands = _strings(raw.get("brands"), f"{where}.brands", problems)
    synonyms = _strings(raw.get("synonyms"), f"{where}.synonyms", problems)
    for code in explains:
        if code not in assays:
            problems.append(
                f"{where}.explains: assay {code!r} is unknown"
                + Unknown(code, _close(code, assays)).did_you_mean()
            )
    for code in (*produces, *metabolites, *([parent] if parent else [])):
        if code not in analytes:
            problems.append(
                f"{where}: analyte {code!r} is unknown"
                + Unknown(code, _close(code, analytes)).did_you_mean()
                + " (add it under [analytes])"
            )
    if before is None and not produces and not explains:
        problems.append(
            f"{where}: say what it leaves in a specimen: produces = [analyte codes], "
            'e.g. produces = ["BUP", "NORBUP"]'
        )
    if problems:
        return problems
    produced = frozenset(produces) if "produces" in raw or before is None else before.produces
    # The older form named parent and metabolite without produces: they are produced.
    produced |= frozenset(metabolites) | ({parent} if parent else set())
    return Medication(
        name,
        produced,
        parent if "parent" in raw or before is None else before.parent,
        frozenset(metabolites)
        if "metabolites" in raw or "metabolite" in raw or before is None
        else before.metabolites,
        (before.brands if before else ()) + brands,
        (before.synonyms if before else ()) + synonyms,
        frozenset(explains) | (before.explains if before else frozenset()),
    )
