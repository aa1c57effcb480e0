"""Consents, restrictions and disclosures against the entries that made them (DESIGN §6:
every domain row equals what the ledger says; 42 CFR §2.31, §2.26, §2.25).

The `consent` entries are replayed here, in order: a consent added once, revoked at
most once and only after it was added, a restriction lifted only while in force, and a
disclosure made under a consent only when the ledger knew it, for that client, not
revoked, and the client not restricted (unless a court ordered it). Each ``consents``,
``restrictions`` and ``disclosures`` row then matches its entry: the recipient and the
other words of the form through their salted digests, the rest as stored. An older
export's disclosure ({"to", "purpose", "what": "ledger export"}) has no row and stays
valid; a disclosure entry with a ``basis`` has exactly one.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core import body_rules
from screening.core import disclosure as rules
from screening.core.canonical import private_digest
from screening.core.disclosure import END_OF_TREATMENT
from screening.core.replay import Broken, NewMap, Store, by_seq
from screening.db.models import Client, Consent, Disclosure, Restriction
from screening.services.audit.merge import match_rows, stream
from screening.services.audit.one_site import of_site
from screening.services.audit.unread import Unread
from screening.services.disclosure.consents import terms_text

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_ADD = {
    "action", "consent", "client", "type", "purpose", "shares", "covers_from", "expires",
    "signed", "revocable_from", "taken_by", "terms",
}  # fmt: skip
_DISCLOSURE = {
    "basis", "client", "consent", "recipient", "purpose", "what", "from", "to", "form",
    "content",
}  # fmt: skip


class ConsentEntries:
    """The `consent` entries and the new-form `disclosure` entries of the walk: what
    each consents, restrictions and disclosures row must say. ``clients`` is the
    replay's map of the clients the ledger knows (uid -> (entry, site, state))."""

    def __init__(self, new_map: NewMap, clients: Store) -> None:
        self.consents = new_map(by_seq)  # added entry -> (site, state)
        self.restrictions = new_map(by_seq)  # restrict entry -> (site, state)
        self.disclosures = new_map(by_seq)  # entry -> (site, state)
        # consent uid -> (added entry, site, client uid, type, revoking entry or None,
        # purpose, shares)
        self._added = new_map(lambda uid, known: (known[0], uid))
        self._restricted: dict[tuple[str, str], int] = {}  # (site, client) -> in force
        self._clients = clients

    def take(self, seq: int, site: str, kind: str, body: Any, actor: Any = None) -> None:
        if kind not in ("consent", "disclosure"):
            return
        try:
            if not isinstance(body, dict):
                raise TypeError("not an object")
            if kind == "consent":
                body_rules.check_action(kind, body)
                getattr(self, f"_{body['action']}")(seq, site, body)
                if body["action"] == "add":
                    _taken_by_writer(body["taken_by"], actor)
            elif "basis" in body:  # an older export's disclosure has no basis and no row
                self._disclosure(seq, site, body)
        except body_rules.BodyError as error:
            raise Broken(seq, f"entry {seq} ({kind}): {error}") from None
        except (KeyError, TypeError, ValueError) as error:
            raise Broken(
                seq, f"entry {seq} ({kind}): its body is not a well-formed {kind} ({error})"
            ) from None

    def _client(self, site: str, uid: Any) -> str:
        known = self._clients.get(uid) if isinstance(uid, str) else None
        if known is None or known[1] != site:
            raise body_rules.BodyError(
                f"it names client {uid}, whom the ledger does not know at site {site}"
            )
        return str(uid)

    def _add(self, seq: int, site: str, body: dict[str, Any]) -> None:
        _fields(body, _ADD)
        uid = body["consent"]
        if not isinstance(uid, str) or not uid:
            raise ValueError("no consent uid")
        if uid in self._added:
            raise body_rules.BodyError(
                f"it adds consent {uid}, which entry {self._added.get(uid)[0]} added already"
            )
        client = self._client(site, body["client"])
        _terms_known(body)
        for name in ("terms", "taken_by"):
            if not isinstance(body[name], str) or not _DIGEST.match(body[name]):
                raise ValueError(f"{name} is not a digest")
        shares = body["shares"]
        if not isinstance(shares, list) or shares != sorted(set(shares)) or not shares:
            raise body_rules.BodyError("its shares are not a sorted list, each once")
        for name in ("covers_from", "signed"):
            date.fromisoformat(body[name])
        if body["expires"] != END_OF_TREATMENT:
            date.fromisoformat(body["expires"])
        if body["revocable_from"] is not None:
            date.fromisoformat(body["revocable_from"])
        state = {name: body[name] for name in sorted(_ADD - {"action"})}
        self.consents[seq] = (site, {**state, "client": client, "revoked": None})
        self._added[uid] = (seq, site, client, body["type"], None, body["purpose"], shares)

    def _revoke(self, seq: int, site: str, body: dict[str, Any]) -> None:
        _fields(body, {"action", "consent", "client", "reason", "note"})
        uid = body["consent"]
        known = self._added.get(uid) if isinstance(uid, str) else None
        if known is None or known[1] != site or known[2] != body["client"]:
            raise body_rules.BodyError(
                f"it revokes consent {uid} of client {body['client']}, which the ledger "
                f"never added at site {site}"
            )
        added, _, client, kind, revoked, *terms = known
        if revoked is not None:
            raise body_rules.BodyError(
                f"it revokes consent {uid}, which entry {revoked} revoked already"
            )
        if body["note"] is not None and not _DIGEST.match(body["note"]):
            raise ValueError("its note is not a digest")
        self._added[uid] = (added, site, client, kind, seq, *terms)
        at, state = self.consents.get(added)
        state["revoked"] = {"entry": seq, "reason": body["reason"], "note": body["note"]}
        self.consents[added] = (at, state)

    def _restrict(self, seq: int, site: str, body: dict[str, Any]) -> None:
        _fields(body, {"action", "client", "note"})
        client = self._client(site, body["client"])
        if (site, client) in self._restricted:
            raise body_rules.BodyError(
                f"it restricts client {client}, whose restriction of entry "
                f"{self._restricted[(site, client)]} is in force"
            )
        self._restricted[(site, client)] = seq
        self.restrictions[seq] = (site, {"client": client, "note": body["note"], "lifted": None})

    def _lift(self, seq: int, site: str, body: dict[str, Any]) -> None:
        _fields(body, {"action", "client", "note"})
        client = self._client(site, body["client"])
        restricted = self._restricted.pop((site, client), None)
        if restricted is None:
            raise body_rules.BodyError(
                f"it lifts a restriction of client {client}, who has none in force"
            )
        at, state = self.restrictions.get(restricted)
        state["lifted"] = {"entry": seq, "note": body["note"]}
        self.restrictions[restricted] = (at, state)

    def _disclosure(self, seq: int, site: str, body: dict[str, Any]) -> None:
        _fields(body, _DISCLOSURE, optional=frozenset({"staff_names"}))
        if not isinstance(body["recipient"], str) or not _DIGEST.match(body["recipient"]):
            raise ValueError("its recipient is not a digest")
        if not isinstance(body["what"], list):
            raise ValueError("what it disclosed is not a list")
        client = body["client"]
        if body["basis"] == "consent":
            client = self._client(site, client)
            known = self._added.get(body["consent"]) if isinstance(body["consent"], str) else None
            if known is None or known[1] != site or known[2] != client:
                raise body_rules.BodyError(
                    f"it discloses under consent {body['consent']}, which the ledger never "
                    f"added for client {client}"
                )
            if known[4] is not None:
                raise body_rules.BodyError(
                    f"it discloses under consent {body['consent']}, which entry {known[4]} revoked"
                )
            restricted = self._restricted.get((site, client))
            if restricted is not None and known[3] != rules.COURT_ORDER:
                raise body_rules.BodyError(
                    f"it discloses about client {client}, whose disclosures entry "
                    f"{restricted} restricted"
                )
            _within_consent(body, purpose=known[5], shares=known[6])
        elif body["basis"] != "audit" or client is not None or body["consent"] is not None:
            raise body_rules.BodyError(f"a disclosure on the basis {body['basis']!r}")
        elif body["purpose"] not in rules.AUDIT_PURPOSES:
            raise body_rules.BodyError(
                f"it is an audit disclosure for {body['purpose']!r}, not one of "
                f"{', '.join(rules.AUDIT_PURPOSES)}"
            )
        state = {name: body[name] for name in sorted(_DISCLOSURE)}
        self.disclosures[seq] = (site, state)


def _terms_known(body: dict[str, Any]) -> None:
    """A consent's type, purpose and shares are the form's fixed choices (§2.31, §2.33,
    §2.35): anything else the program never writes, and the gate could not judge it."""
    kind, purpose, shares = body["type"], body["purpose"], body["shares"]
    if kind not in rules.TYPES:
        raise body_rules.BodyError(
            f"it adds a consent of type {kind!r}, which is none the form has"
        )
    if purpose not in rules.PURPOSES_OF[kind]:
        raise body_rules.BodyError(
            f"it adds a {rules.type_words(kind)} for {purpose!r}, which that type may not name"
        )
    if not isinstance(shares, list):
        raise ValueError("its shares are not a list")
    unknown = [share for share in shares if share not in rules.SHARES]
    if unknown:
        raise body_rules.BodyError(f"it shares {unknown[0]!r}, which is none the form has")


def _within_consent(body: dict[str, Any], *, purpose: str, shares: list[str]) -> None:
    """A disclosure carries only what its consent shares, for the consent's purpose."""
    uid = body["consent"]
    beyond = [item for item in body["what"] if item not in shares]
    if beyond:
        raise body_rules.BodyError(
            f"it carries {', '.join(map(str, beyond))}, which consent {uid} does not share"
        )
    if body["purpose"] != purpose:
        raise body_rules.BodyError(
            f"it is for {body['purpose']!r}, but consent {uid} is for {purpose!r}"
        )


def _taken_by_writer(taken_by: str, actor: Any) -> None:
    """Who took a consent is who recorded it: the login (PostgreSQL), else the OS user."""
    writer = (
        actor.get("login_digest") or actor.get("os_digest") if isinstance(actor, dict) else None
    )
    if taken_by != writer:
        raise body_rules.BodyError("it says the consent was taken by someone other than its writer")


def _fields(
    body: dict[str, Any], wanted: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> None:
    if not wanted <= set(body) <= wanted | set(optional):
        raise body_rules.BodyError(f"its fields are {sorted(body)}, not {sorted(wanted)}")


# --- the rows ----------------------------------------------------------------------------


def _listed(text: str) -> Any:
    """A JSON list as stored; text that is none is compared as it is (and differs)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def consent_record(row: Consent, client: Client | None) -> dict[str, Any]:
    """What verify compares a consents row with."""
    if row.at_discharge and row.expires_on is None:
        expires: str | None = END_OF_TREATMENT
    elif row.at_discharge:  # both: no entry says that
        expires = f"{row.expires_on} or {END_OF_TREATMENT}"
    else:
        expires = _day(row.expires_on)
    revoked = None
    if row.revoked_seq is not None or row.revoke_reason is not None or row.revoke_note:
        revoked = {
            "entry": row.revoked_seq,
            "reason": row.revoke_reason,
            "note": private_digest(row.salt, row.revoke_note),
        }
    return {
        "consent": row.uid,
        "client": client.uid if client is not None else None,
        "type": row.type,
        "purpose": row.purpose,
        "shares": _listed(row.shares),
        "covers_from": _day(row.covers_from),
        "expires": expires,
        "signed": _day(row.signed_on),
        "revocable_from": _day(row.revocable_from),
        "taken_by": row.taken_by,
        "terms": private_digest(row.salt, terms_text(row)),
        "revoked": revoked,
    }


def restriction_record(row: Restriction, client: Client | None) -> dict[str, Any]:
    lifted = None
    if row.lifted_seq is not None or row.lift_note is not None:
        lifted = {"entry": row.lifted_seq, "note": private_digest(row.salt, row.lift_note)}
    return {
        "client": client.uid if client is not None else None,
        "note": private_digest(row.salt, row.note),
        "lifted": lifted,
    }


def disclosure_record(
    row: Disclosure, client: Client | None, consent: str | None
) -> dict[str, Any]:
    return {
        "basis": row.basis,
        "client": client.uid if client is not None else None,
        "consent": consent,
        "recipient": private_digest(row.salt, row.recipient),
        "purpose": row.purpose,
        "what": _listed(row.what),
        "from": _day(row.period_from),
        "to": _day(row.period_to),
        "form": row.form,
        "content": row.content,
    }


def check_consents(
    session: Session, entries: ConsentEntries, unread: Unread, site: str | None = None
) -> None:
    """Every consents, restrictions and disclosures row against its entry, and every
    entry that made one against its row. ``site``: that site's rows only."""
    consents = (
        sa.select(Consent, Client)
        .outerjoin(Client, col(Client.id) == Consent.client_id)
        .options(*unread.deferred(Consent, Client))
        .order_by(col(Consent.added_seq))
    )
    consents = of_site(consents, col(Consent.site), site)
    match_rows(
        "consent",
        entries.consents.ordered(),
        (
            (row.added_seq, row.site, unread.compare(partial(consent_record, row, c), row, c))
            for row, c in stream(session, consents)
        ),
    )
    restrictions = (
        sa.select(Restriction, Client)
        .outerjoin(Client, col(Client.id) == Restriction.client_id)
        .options(*unread.deferred(Restriction, Client))
        .order_by(col(Restriction.added_seq))
    )
    restrictions = of_site(restrictions, col(Restriction.site), site)
    match_rows(
        "restriction",
        entries.restrictions.ordered(),
        (
            (row.added_seq, row.site, unread.compare(partial(restriction_record, row, c), row, c))
            for row, c in stream(session, restrictions)
        ),
    )
    # The consent by its uid alone: an auditor's login reads no recipient.
    disclosures = (
        sa.select(Disclosure, Client, col(Consent.uid))
        .outerjoin(Client, col(Client.id) == Disclosure.client_id)
        .outerjoin(Consent, col(Consent.id) == Disclosure.consent_id)
        .options(*unread.deferred(Disclosure, Client))
        .order_by(col(Disclosure.seq))
    )
    disclosures = of_site(disclosures, col(Disclosure.site), site)
    match_rows(
        "disclosure",
        entries.disclosures.ordered(),
        (
            (row.seq, row.site, unread.compare(partial(disclosure_record, row, c, k), row, c))
            for row, c, k in stream(session, disclosures)
        ),
    )
