"""The tables of consents to disclose, clients' restrictions and the disclosures made
(42 CFR Part 2; issue 18). Each row names the ledger entries that wrote it; the ledger
holds digests of its free text (the recipient, who signed, how to revoke), the salt of
which is kept only here."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _seq(nullable: bool = False, unique: bool = True) -> sa.Column[int]:
    return sa.Column(sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=nullable, unique=unique)


class Consent(SQLModel, table=True):
    """A written consent to disclose (or a court order), from the `consent` entry that
    recorded it until the one that revoked it. Its number (``id``) is what staff type."""

    __tablename__ = "consents"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    client_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("clients.id"), nullable=False, index=True)
    )
    type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    recipient: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recipient_class: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    purpose: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    detail: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # JSON list of what may be shared (core/disclosure.SHARES), sorted.
    shares: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    covers_from: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    expires_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    at_discharge: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    signed_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    signed_by: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    how_to_revoke: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    revocable_from: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    # The staff digest (site salt) of who took it; staff_names holds the name.
    taken_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    added_seq: int = Field(sa_column=_seq())
    revoked_seq: int | None = Field(default=None, sa_column=_seq(nullable=True))
    revoke_reason: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(32), nullable=True)
    )
    revoke_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class Restriction(SQLModel, table=True):
    """A client's request that nothing be disclosed but what the law requires (§2.26),
    in force from the entry that added it until the one that lifted it."""

    __tablename__ = "restrictions"

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    client_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("clients.id"), nullable=False, index=True)
    )
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    lift_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    added_seq: int = Field(sa_column=_seq())
    lifted_seq: int | None = Field(default=None, sa_column=_seq(nullable=True))


class Disclosure(SQLModel, table=True):
    """One disclosure made (its `disclosure` entry is ``seq``): the accounting of
    disclosures (§2.25) reads these, with the older exports' entries that have none."""

    __tablename__ = "disclosures"

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    seq: int = Field(sa_column=_seq())
    client_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("clients.id"), nullable=True, index=True),
    )
    consent_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("consents.id"), nullable=True),
    )
    basis: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    recipient: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    salt: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    purpose: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # JSON list of what it carried (core/disclosure.SHARES, or "ledger export").
    what: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    period_from: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    period_to: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    form: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # SHA-256 of the data disclosed (services/disclosure/gate.py).
    content: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
