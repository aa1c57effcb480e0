"""What `audit verify` found, as one record the CLI renders: how many rows of each kind
matched their entries, what the replay noticed on the way (late draws, zone changes,
reversals ...), how the key vouched for the anchors, the witnesses' summary, and the
first problem with its ledger entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    entries: int = 0
    head: str | None = None
    clients: int = 0
    holds: int = 0
    closures: int = 0
    draws: int = 0
    screenings: int = 0
    results: int = 0
    replayed: int = 0
    replayed_locally: int = 0
    not_replayed: int = 0
    late_draws: list[str] = field(default_factory=list)
    zone_changes: list[str] = field(default_factory=list)
    clock_back: list[str] = field(default_factory=list)
    late_entries: list[str] = field(default_factory=list)
    reversals: list[str] = field(default_factory=list)
    hold_excusals: list[str] = field(default_factory=list)
    late_closures: list[str] = field(default_factory=list)
    policy_changes: list[str] = field(default_factory=list)
    # Beacon rounds whose signatures were checked (each once), days drawn without their
    # beacon (the policy's fallback), and draws dated before their round was published.
    beacon_rounds: int = 0
    missing_beacons: list[str] = field(default_factory=list)
    early_beacons: list[str] = field(default_factory=list)
    # Entries written by a user without a role that may write them (audit/access_rows.py).
    without_role: list[str] = field(default_factory=list)
    # Whether the key vouched for the anchors (derived each of the own site's
    # commitments), and how, in one line.
    anchors_from_key: bool = False
    anchors_derived: int = 0
    anchors: str = ""
    checkpoint: str | None = None
    witness: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    problem_seq: int | None = None
    # Columns this login may not read (PostgreSQL `db roles`: an auditor's names, codes
    # and free text), left out of the comparison with the ledger (audit/unread.py).
    unread: list[str] = field(default_factory=list)
    # `audit verify --site NAME`: the one site whose entries and rows were read.
    site: str | None = None
    # An incremental verify (services/audit/resume.py): the checkpoint it went on from,
    # the entries it read, and how many rows it compared; the checkpoint a verify wrote.
    from_checkpoint: dict[str, Any] | None = None
    wrote_checkpoint: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **{k: v for k, v in self.__dict__.items()}}
