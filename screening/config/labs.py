"""The `[labs]` table: the drop folder a lab's files arrive in, and each lab's map.

A lab is recognised by its HL7 sending facility (MSH-4): its name (``facility``, the
first component) or its CLIA number (``clia``, the universal id). Its map says which
field holds the specimen id and what its local codes mean; a code it does not list is
read by the vocabulary's LOINC codes, the default map::

    [labs]
    drop_folder = "lab-drop"        # `results watch` and `schedule run` import from here
    ack_folder = "lab-acks"         # an HL7 ACK for each message (optional)

    [labs.acme]
    facility = "ACME TOXICOLOGY"
    clia = "05D1234567"
    specimen_id = "SPM-2"           # or "OBR-3" (filler order) or "OBR-20"
    [labs.acme.codes]
    "AMPS" = { assay = "AMP", method = "screen" }
    "AMPC" = { assay = "AMP", method = "confirmation" }
    "CREAT" = { measure = "creatinine" }
    "COMM" = { ignore = true }
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SPECIMEN_FIELDS = ("SPM-2", "OBR-3", "OBR-20")
MEASURES = ("creatinine", "specific_gravity", "ph")


class LabCode(BaseModel):
    """What one of the lab's codes means: an assay by a method, a validity measure, or
    nothing we record (``ignore``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assay: str | None = Field(default=None, min_length=1)
    method: Literal["screen", "confirmation"] | None = None
    measure: Literal["creatinine", "specific_gravity", "ph"] | None = None
    ignore: bool = False

    @model_validator(mode="after")
    def _one_meaning(self) -> LabCode:
        meanings = [self.assay is not None, self.measure is not None, self.ignore]
        if sum(meanings) != 1:
            raise ValueError(
                "give exactly one of assay (with method), measure, or ignore = true, "
                'e.g. { assay = "AMP", method = "screen" }'
            )
        if self.assay is not None and self.method is None:
            raise ValueError('an assay needs its method: method = "screen" or "confirmation"')
        if self.assay is None and self.method is not None:
            raise ValueError("method goes with an assay; add assay = CODE or remove method")
        return self


class LabMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facility: str | None = Field(default=None, min_length=1)
    clia: str | None = Field(default=None, min_length=1)
    specimen_id: Literal["SPM-2", "OBR-3", "OBR-20"] = "SPM-2"
    codes: dict[str, LabCode] = {}

    @model_validator(mode="after")
    def _recognisable(self) -> LabMap:
        if self.facility is None and self.clia is None:
            raise ValueError(
                "a lab is recognised by its sending facility (MSH-4): add facility = "
                '"NAME" or clia = "NUMBER"'
            )
        return self

    def sends(self, namespace: str, universal_id: str) -> bool:
        """Whether a message from this MSH-4 is this lab's (names case and spaces aside)."""
        if self.clia is not None and universal_id.strip().upper() == self.clia.strip().upper():
            return True
        return self.facility is not None and _plain(namespace) == _plain(self.facility)


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


class LabsSettings(BaseModel):
    """``[labs]``: its own keys, and one table per lab."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, LabMap] = Field(init=False)

    drop_folder: str | None = Field(default=None, min_length=1)
    ack_folder: str | None = Field(default=None, min_length=1)

    @field_validator("drop_folder", "ack_folder")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError('a folder is a path, e.g. "lab-drop"; this one is empty')
        return value

    @property
    def maps(self) -> dict[str, LabMap]:
        return dict(self.__pydantic_extra__ or {})

    def labs_of(self, namespace: str, universal_id: str) -> list[tuple[str, LabMap]]:
        """The maps this sending facility matches: one, none, or (a config to mend) more,
        one by the lab's name and another by its CLIA number, say."""
        return [
            (name, lab)
            for name, lab in sorted(self.maps.items())
            if lab.sends(namespace, universal_id)
        ]

    def folder(self, which: str | None, base: Path) -> Path | None:
        """A folder of the table, relative ones from the config's folder."""
        if which is None:
            return None
        path = Path(which).expanduser()
        return path if path.is_absolute() else base / path


def lab_problems(raw: Any, assays: Any) -> list[str]:
    """Checks that need the vocabulary: every mapped assay is one it knows."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        return problems
    problems += _same_sender(raw)
    for name, lab in raw.items():
        if name in ("drop_folder", "ack_folder") or not isinstance(lab, dict):
            continue
        codes = lab.get("codes")
        for code, meaning in (codes if isinstance(codes, dict) else {}).items():
            assay = meaning.get("assay") if isinstance(meaning, dict) else None
            if isinstance(assay, str) and assay not in assays:
                known = ", ".join(sorted(assays)[:6])
                problems.append(
                    f"labs.{name}.codes.{code}.assay: {assay!r} is not an assay the "
                    f"vocabulary knows; use one of a panel's codes (e.g. {known})"
                )
    return problems


def _same_sender(raw: dict[str, Any]) -> list[str]:
    """Two maps that one sending facility would match: which one reads its codes would
    depend on their order in the file."""
    problems: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for name, lab in raw.items():
        if name in ("drop_folder", "ack_folder") or not isinstance(lab, dict):
            continue
        for key, value in (("facility", lab.get("facility")), ("clia", lab.get("clia"))):
            if not isinstance(value, str) or not value.strip():
                continue
            sender = (key, _plain(value))
            if sender in seen:
                problems.append(
                    f"labs.{name}.{key}: {value!r} is also labs.{seen[sender]}.{key}; a lab "
                    "has one map: merge the two tables"
                )
            else:
                seen[sender] = name
    return problems
