"""Tables. Schema changes go through alembic migrations (db/migrations), never create_all.

Every domain row names the ledger entry that last wrote it (``ledger_seq``), so that
`audit verify` can compare the row with what the ledger says.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from screening.db.instants import UTCDateTime


class LedgerRow(SQLModel, table=True):
    __tablename__ = "ledger"
    __table_args__ = (sa.Index("ix_ledger_site_kind", "site", "kind"),)

    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # The client the entry is about (copied from the body; verify checks the copy).
    uid: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(36), nullable=True, index=True)
    )
    # The exact canonical JSON text that was hashed (DESIGN §6).
    canonical: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    # PostgreSQL: the login that inserted it (held by row-level security: migration 0010).
    login: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class Client(SQLModel, table=True):
    __tablename__ = "clients"
    __table_args__ = (  # the indexes: see migration 0013
        sa.UniqueConstraint("site", "code", name="uq_clients_site_code"),
        sa.Index("ix_clients_site_code_folded", "site", sa.text("lower(code)")),
        sa.Index("ix_clients_site_discharged", "site", "discharged_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    code: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    name: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # Per-row salt of the private digests in ledger bodies; never leaves this table.
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    track: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    phase: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    admitted_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    discharged_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    discharge_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # JSON list of lower-case medication names (canonical text).
    medications: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    ledger_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False)
    )


class Hold(SQLModel, table=True):
    __tablename__ = "holds"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("clients.id"), nullable=False, index=True)
    )
    starts_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    ends_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    ledger_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )
    # Ended early or withdrawn, by the entry ``changed_seq``; starts_on..ends_on as entered.
    ended_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    withdrawn: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    change_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    changed_seq: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=True),
    )

    def last_day(self) -> date | None:
        """The last day the hold covers now (None: withdrawn, it covers none)."""
        if self.withdrawn:
            return None
        return self.ended_on or self.ends_on


class Closure(SQLModel, table=True):
    __tablename__ = "closures"
    __table_args__ = (sa.UniqueConstraint("site", "date", name="uq_closures_site_date"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    day: dt.date = Field(sa_column=sa.Column("date", sa.Date, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    ledger_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )
    # Withdrawn (the clinic opens after all), with why, by the entry ``withdrawn_seq``.
    withdrawn_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    withdrawn_seq: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=True),
    )


class Draw(SQLModel, table=True):
    """One draw per site and date (DESIGN §5: nobody can re-roll a day)."""

    __tablename__ = "draws"
    __table_args__ = (
        sa.UniqueConstraint("site", "date", name="uq_draws_site_date"),
        sa.Index("ix_draws_site_revealed", "site", "revealed_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    day: dt.date = Field(sa_column=sa.Column("date", sa.Date, nullable=False))
    drawn_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # A draw made after its day (`select --late DATE --reason`), flagged in audits.
    late_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # The draw entry, the latest draw or draw_amend entry, and the day key's reveal.
    created_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )
    ledger_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False)
    )
    revealed_seq: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=True),
    )


class Screening(SQLModel, table=True):
    """One expected collection. Once drawn it never returns to pending, never goes away."""

    __tablename__ = "screenings"
    __table_args__ = (
        sa.UniqueConstraint("draw_id", "client_id", name="uq_screenings_draw_client"),
        sa.Index("ix_screenings_client_date", "client_id", "date"),
        sa.Index("ix_screenings_status_due", "status", "due_by"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("clients.id"), nullable=False)
    )
    draw_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("draws.id"), nullable=True, index=True),
    )
    day: dt.date = Field(sa_column=sa.Column("date", sa.Date, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    due_by: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # Collection must be directly observed (a recollection after a dilute or cold specimen).
    observed_required: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    # A recollection names the screening whose specimen it repeats (and replaces).
    replaces_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("screenings.id"), nullable=True),
    )
    # Free text stays here; the ledger holds salted digests of it.
    salt: str = Field(
        default="", sa_column=sa.Column(sa.String(32), nullable=False, server_default="")
    )
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    status_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # The status was set by the overdue sweep, not by staff.
    status_auto: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    excuse_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    approved_by: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # A staff-recorded miss reversed (`results reverse`): its status, and the approver.
    reversed_status: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(24), nullable=True)
    )
    reversal_approver: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    created_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False)
    )
    ledger_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False)
    )


class DrawAmendment(SQLModel, table=True):
    """A late pool correction (`select --amend --reason`): the reason stays here, the
    ledger holds its salted digest."""

    __tablename__ = "draw_amendments"

    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("draws.id"), nullable=False, index=True)
    )
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    ledger_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )


class Result(SQLModel, table=True):
    """One specimen, as collected. What the lab or staff later say of it is kept in
    versions (ResultVersion): nothing here is overwritten."""

    __tablename__ = "results"
    # A label is one label whatever its case (a lab may send it upper-cased).
    __table_args__ = (sa.Index("ix_results_specimen_id_folded", sa.text("lower(specimen_id)")),)

    id: int | None = Field(default=None, primary_key=True)
    screening_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("screenings.id"), nullable=False, unique=True)
    )
    specimen_type: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    specimen_id: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(64), nullable=True, unique=True)
    )
    collected_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    collector: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    observed: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    observed_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    temperature_ok: bool | None = Field(
        default=None, sa_column=sa.Column(sa.Boolean, nullable=True)
    )
    method: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    panel: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # The client's prescriptions at collection time (canonical JSON list).
    medications: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # Entered after its screening's deadline: why (the entry time is its ledger entry's).
    late_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    created_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )
    ledger_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False)
    )


class ResultVersion(SQLModel, table=True):
    """What a result says, as first recorded or as amended (one row per ledger entry)."""

    __tablename__ = "result_versions"

    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("results.id"), nullable=False, index=True)
    )
    seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )
    # recorded | lab_report | lab_confirmation | corrected_report | data_entry_error | wrong_client
    reason: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    lab_report_id: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(64), nullable=True)
    )
    validity: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    validity_version: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    measures: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    void: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    # Why an outcome stands against its own level and cutoff (in the content digest).
    override_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # A lab's HL7 report status, and the SHA-256 of lab, message id and order (issue 19).
    lab_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    lab_message: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), index=True))


class AnalyteResult(SQLModel, table=True):
    __tablename__ = "analyte_results"
    __table_args__ = (sa.UniqueConstraint("version_id", "code", name="uq_analyte_version_code"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("result_versions.id"), nullable=False)
    )
    code: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    outcome: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    stage: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    level: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    cutoff: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))


class Site(SQLModel, table=True):
    """A site the database holds, from `init` (or adopted from the ledger by an older
    database). A config naming another site, or another time zone, is refused."""

    __tablename__ = "sites"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, unique=True))
    # Salt of the staff names' digests in this site's ledger entries; never leaves here.
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    created_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )


class SiteZone(SQLModel, table=True):
    """The time zone a site keeps from ``starts_at`` on (None: from the start)."""

    __tablename__ = "site_zones"
    __table_args__ = (sa.Index("ix_site_zones_site", "site", "ledger_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    timezone: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    starts_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime, nullable=True)
    )
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    ledger_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )


class StaffName(SQLModel, table=True):
    """A staff member's name (OS login, --actor, approver) and its salted digest, the
    only form the ledger holds of it (exports carry no staff names)."""

    __tablename__ = "staff_names"
    __table_args__ = (sa.UniqueConstraint("site", "digest", name="uq_staff_names_site_digest"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    digest: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class AccessGrant(SQLModel, table=True):
    """A role held by a user (the OS login on SQLite, the database login on PostgreSQL)
    at a site, from the `role` entry that granted it until the one that revoked it
    (core/access.py has the roles; services/access/ makes the entries)."""

    __tablename__ = "access_grants"
    __table_args__ = (sa.Index("ix_access_grants_site_login", "site", "login"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    login: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    role: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    granted_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True)
    )
    revoked_seq: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=True, unique=True),
    )


class RowIdGap(SQLModel, table=True):
    """An id a table skipped before ids were given without gaps (db/row_ids.py): found
    by the upgrade to 0009 in an older PostgreSQL database, where a rolled-back insert
    used up a sequence number. Listed so that every table's ids and gaps are 1..n."""

    __tablename__ = "row_id_gaps"

    table_name: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    row_id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Table, for the queries that read plain rows in bulk."""
    # SQLModel's stubs do not declare the __table__ its metaclass gives every table model.
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def flushed_id(row: _Stored) -> int:
    """The id of a row the database has given one (read back, or added and flushed):
    SQLModel types every id ``int | None`` for the rows not added yet."""
    assert row.id is not None, f"{type(row).__name__} used before its flush"
    return row.id


# The consent tables live beside these (db/consents.py); importing this module maps them.
from screening.db.consents import Consent, Disclosure, Restriction  # noqa: E402, F401
