"""The roles the database holds (``access_grants``) against the `role` entries that
granted and revoked them (DESIGN §6: every domain row equals what the ledger says).

A row added by hand (a role nobody granted), a revocation removed, or a login renamed
is named here: the ledger is the only record of who may do what.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.access import ADMIN, AUDITOR, CLINICIAN, ROLES, STAFF
from screening.core.canonical import private_digest
from screening.core.replay import Broken
from screening.db.models import AccessGrant, Site
from screening.services.audit.merge import match_rows, stream
from screening.services.audit.one_site import of_site

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


# Who may write each kind of entry (core/access.py's table, by what the commands write);
# a kind not named here (policy, commitment, reveal: every write's upkeep; a screening's
# changes; a read's `viewed`) may be written by a user holding any role.
WRITERS: dict[str, frozenset[str]] = {
    "role": frozenset({ADMIN}),
    "site": frozenset({ADMIN}),
    "key_rotation": frozenset({ADMIN}),
    "client": frozenset({ADMIN, CLINICIAN}),
    "closure": frozenset({ADMIN, STAFF}),
    "draw": frozenset({STAFF}),
    "draw_amend": frozenset({STAFF}),
    "result": frozenset({STAFF}),
    "amendment": frozenset({STAFF, CLINICIAN}),
    "consent": frozenset({STAFF, CLINICIAN}),
    # Letters and FHIR bundles are clinicians' disclosures; an export is an auditor's.
    "disclosure": frozenset({STAFF, CLINICIAN, AUDITOR}),
}


SHOWN = 20  # entries named by the flag; the rest are counted


class RoleEntries:
    """The `role` entries of the walk, replayed: which grant each revocation ended, and
    whether each entry after a site's first grant was written by a user who held a role
    that may write it (flagged, not failed: a grant's timing can differ by seconds)."""

    def __init__(self) -> None:
        self.expected: dict[int, tuple[str, dict[str, Any]]] = {}
        self._in_force: dict[tuple[str, str, str], int] = {}
        self._sites: set[str] = set()
        self.without_role: list[str] = []
        self.without_role_count = 0

    def judge(self, seq: int, site: str, kind: str, actor: Any, at: str) -> None:
        """Flag an entry whose writer held no role that may write its kind."""
        if site not in self._sites or not isinstance(actor, dict):
            return  # before the site's roles began (a clinic older than roles)
        user = actor.get("login_digest") or actor.get("os_digest")
        held = {role for (where, who, role) in self._in_force if where == site and who == user}
        allowed = WRITERS.get(kind)
        if not held or (allowed is not None and not held & allowed):
            # Counted, and the first few named: memory stays flat however many there are.
            self.without_role_count += 1
            if len(self.without_role) >= SHOWN:
                return
            having = ", ".join(role for role in ROLES if role in held) or "no role"
            self.without_role.append(
                f"entry {seq} ({kind}, {at}) was written by a user holding {having} at site {site}"
            )

    def take(self, seq: int, site: str, body: Any) -> None:
        if not (
            isinstance(body, dict)
            and set(body) == {"action", "user", "role"}
            and body["action"] in ("grant", "revoke")
            and body["role"] in ROLES
            and isinstance(body["user"], str)
            and _DIGEST.match(body["user"])
        ):
            raise Broken(seq, f"entry {seq} (role): its body is not a well-formed role entry")
        key = (site, body["user"], body["role"])
        if body["action"] == "grant":
            if key in self._in_force:
                raise Broken(
                    seq,
                    f"entry {seq} grants {body['role']} to a user who holds it already "
                    f"(entry {self._in_force[key]})",
                )
            self._in_force[key] = seq
            self._sites.add(site)
            self.expected[seq] = (site, {"role": body["role"], "user": body["user"], "ended": None})
        else:
            granted = self._in_force.pop(key, None)
            if granted is None:
                raise Broken(
                    seq, f"entry {seq} revokes {body['role']} from a user who does not hold it"
                )
            self.expected[granted][1]["ended"] = seq


def check_grants(session: Session, entries: RoleEntries, site: str | None = None) -> None:
    """Every access_grants row matches the entry that granted it, and the entry that
    revoked it; every grant entry still has its row. ``site``: that site's rows only."""
    salts: dict[str, str] = dict(session.execute(sa.select(col(Site.name), col(Site.salt))).all())
    rows = of_site(sa.select(AccessGrant), col(AccessGrant.site), site)
    rows = rows.order_by(col(AccessGrant.granted_seq))
    match_rows(
        "role",
        sorted(entries.expected.items()),
        (
            (
                row.granted_seq,
                row.site,
                {
                    "role": row.role,
                    "user": private_digest(salts.get(row.site, ""), row.login),
                    "ended": row.revoked_seq,
                },
            )
            for (row,) in stream(session, rows)
        ),
    )
