"""Tables. Schema changes go through alembic migrations (db/migrations), never create_all.

Every domain row names the ledger entry that last wrote it (``ledger_seq``), so that
`audit verify` can compare the row with what the ledger says.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Instants in UTC. SQLite hands back naive values, PostgreSQL aware ones: both
    come out of here aware, in UTC (STYLE §4: normalise in one place)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant in UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class LedgerRow(SQLModel, table=True):
    __tablename__ = "ledger"
    __table_args__ = (sa.Index("ix_ledger_site_kind", "site", "kind"),)

    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # The exact canonical JSON text that was hashed (DESIGN §6).
    canonical: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))


class Client(SQLModel, table=True):
    __tablename__ = "clients"
    __table_args__ = (sa.UniqueConstraint("site", "code", name="uq_clients_site_code"),)

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


class Draw(SQLModel, table=True):
    """One draw per site and date (DESIGN §5: nobody can re-roll a day)."""

    __tablename__ = "draws"
    __table_args__ = (sa.UniqueConstraint("site", "date", name="uq_draws_site_date"),)

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
