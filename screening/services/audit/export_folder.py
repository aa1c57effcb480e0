"""`audit export DIR`: the ledger for an auditor, with a verifier that needs nothing else.

The export holds the ledger exactly as hashed (one canonical line an entry), the anchors
and revealed keys drawn out of it, the checkpoints and anchors its witnesses hold with
the witness public key (``witness/``), a manifest with every file's SHA-256, and
screening-verify.py. The ledger carries no names, codes, results or free text. Every
export is itself recorded as a disclosure (to whom, for what) through the disclosure
gate, basis audit (42 CFR 2.53): a ``disclosure`` entry after the exported ledger's last,
and its row, naming the export by the SHA-256 of its manifest.json, in the transaction
that places the folder. `audit disclosures` lists it (42 CFR 2.25).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from screening.core import validate
from screening.core.checkpoint import origin_of, vkey
from screening.core.disclosure import AUDIT_PURPOSES
from screening.db.models import LedgerRow, table_of
from screening.errors import BadInput
from screening.services.disclosure import record_audit
from screening.services.plumbing.context import Context
from screening.services.plumbing.outputs import guard, new_folder_atomically, shown
from screening.services.records.upkeep import recording
from screening.services.witness import read as witnessed

_LEDGER = table_of(LedgerRow)
PURPOSES = AUDIT_PURPOSES
VERIFIER = "screening-verify.py"
# 2: the witnessed checkpoints, anchors notes and witness public key under witness/.
FORMAT = "screening-export/2"


# Entries written before staff names were digested (issue 13) name staff in clear text:
# the OS login and --actor in ``actor``, an approver in a screening's ``approved_by``.
# Canonical JSON sorts keys, so an entry's text begins with its actor.
_CLEAR_STAFF = sa.or_(
    _LEDGER.c.canonical.like('{"actor":{"as":%'),
    _LEDGER.c.canonical.like('{"actor":{"os":%'),
    sa.and_(
        _LEDGER.c.kind == "screening", _LEDGER.c.canonical.like('%"approved!_by":"%', escape="!")
    ),
)
STAFF_NOTICE = """\
STAFF NAMES IN THIS EXPORT

Entries {first} to {last} of ledger.jsonl ({count} entries in all) were written by a
version of screening that recorded clinic staff in clear text: the computer login
("actor" -> "os"), the person at the workstation ("actor" -> "as") and, for excused
screenings, who approved the excusal ("body" -> "approved_by"). Later entries hold
only salted digests of staff names.

These names cannot be removed: every entry is hashed into the chain, and removing
them would make the ledger unverifiable. The clinic exported them on purpose
(recorded in its ledger as this disclosure). Keep this folder as confidential as
any personnel record; do not publish, forward or re-disclose the names; destroy the
folder when the audit is done. The entries hold no client names or codes.
"""


def clear_staff_names(session: Any) -> tuple[int, int | None, int | None]:
    """How many entries name staff in clear text, and the first and last of them."""
    count, first, last = session.execute(
        sa.select(sa.func.count(), sa.func.min(_LEDGER.c.seq), sa.func.max(_LEDGER.c.seq)).where(
            _CLEAR_STAFF
        )
    ).one()
    return count, first, last


def export(
    ctx: Context, folder: Path, recipient: str, purpose: str, with_staff_names: bool = False
) -> dict[str, Any]:
    try:
        purpose = validate.choice(purpose, PURPOSES, "--purpose")
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    try:
        to = validate.staff_name(recipient, "--recipient")
    except validate.Invalid:
        raise BadInput(
            f"--recipient {recipient!r} is not a recipient's name; give the person or "
            "body, e.g. 'State Auditor'"
        ) from None
    real = guard(ctx.settings, ctx.database).check_folder(folder, "DIR")
    if os.path.isdir(real) and os.listdir(real):
        raise BadInput(f"{shown(folder)} is not empty; export into a new folder")
    existed, placed = os.path.isdir(real), False
    try:
        with recording(ctx) as (session, writer):
            count, first, last = clear_staff_names(session)
            if count and not with_staff_names:
                raise BadInput(
                    f"entries {first} to {last} of this ledger ({count} in all) were written "
                    "before staff names were digested and name staff in clear text; they "
                    "cannot be changed without breaking the chain. Export them only if the "
                    "recipient may see staff names: add --with-staff-names (recorded in the "
                    "disclosure, with a notice to the recipient)"
                )
            summary: dict[str, Any] = {}

            def fill(temporary: str) -> None:
                staff = (count, first, last) if count else None
                summary.update(_write(session, Path(temporary), staff, ctx))

            # Built beside DIR and renamed into place (0700) before the disclosure
            # commits: an export is whole, and recorded, or neither.
            new_folder_atomically(real, fill, "the export")
            placed = True
            # Recorded through the disclosure gate (basis: audit, 42 CFR 2.53), after the
            # folder is written, so that the entry can name what was disclosed by the
            # SHA-256 of the export's manifest.json (which holds every file's SHA-256):
            # the recipient checks it with sha256sum. The export holds the ledger up to
            # the entry before.
            extra = {"staff_names": f"entries {first} to {last}"} if count else {}
            record_audit(session, writer, ctx, to, purpose, summary["manifest"], extra)
    except BaseException:
        if placed:  # the disclosure did not commit: neither does the export
            shutil.rmtree(real, ignore_errors=True)
            if existed:
                os.mkdir(real, 0o700)
        raise
    return {**summary, "folder": str(folder.absolute())}


def _write(
    session: Any, folder: Path, staff: tuple[int, int | None, int | None] | None, ctx: Context
) -> dict[str, Any]:
    hashes: dict[str, str] = {}
    genesis = ""
    anchors: dict[str, dict[str, str]] = {}
    keys: dict[str, dict[str, str]] = {}
    ledger = hashlib.sha256()
    head, count = "", 0
    with _private(folder / "ledger.jsonl") as handle:
        rows = session.execute(
            sa.select(_LEDGER.c.seq, _LEDGER.c.hash, _LEDGER.c.canonical)
            .order_by(_LEDGER.c.seq)
            .execution_options(yield_per=2000)
        )
        for seq, digest, canonical in rows:
            line = canonical.encode("utf-8") + b"\n"
            handle.write(line)
            ledger.update(line)
            head, count = f"{seq}:{digest}", seq
            genesis = genesis or digest
            if '"kind":"commitment"' in canonical or '"kind":"reveal"' in canonical:
                entry = json.loads(canonical)
                body, site = entry["body"], entry["site"]
                if entry["kind"] == "commitment":
                    anchors.setdefault(site, {})[body["period"]] = body["anchor"]
                else:
                    keys.setdefault(site, {})[body["date"]] = body["key"]
    hashes["ledger.jsonl"] = ledger.hexdigest()
    for name, value in (("anchors.json", anchors), ("keys.json", keys)):
        data = (json.dumps(value, indent=1, sort_keys=True) + "\n").encode()
        with _private(folder / name) as handle:
            handle.write(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    verifier = resources.files("screening").joinpath("data/screening_verify.py").read_bytes()
    with _private(folder / VERIFIER) as handle:
        handle.write(verifier)
    hashes[VERIFIER] = hashlib.sha256(verifier).hexdigest()
    if staff is not None:
        notice = STAFF_NOTICE.format(count=staff[0], first=staff[1], last=staff[2]).encode()
        with _private(folder / "STAFF-NAMES.txt") as handle:
            handle.write(notice)
        hashes["STAFF-NAMES.txt"] = hashlib.sha256(notice).hexdigest()
    shipped = _witness_files(ctx, origin_of(genesis)) if genesis else {}
    for name, data in shipped.items():
        for part in reversed((folder / name).relative_to(folder).parents[:-1]):
            (folder / part).mkdir(mode=0o700, exist_ok=True)  # each level private
        with _private(folder / name) as handle:
            handle.write(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    manifest = {"format": FORMAT, "entries": count, "head": head, "files": hashes}
    written = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    with _private(folder / "manifest.json") as handle:
        handle.write(written)
    return {
        "manifest": hashlib.sha256(written).hexdigest(),
        "folder": str(folder),
        "entries": count,
        "head": head,
        "staff_names": staff[0] if staff else 0,
        "checkpoints": sum(name.endswith(".checkpoint") for name in shipped),
    }


def _witness_files(ctx: Context, origin: str) -> dict[str, bytes]:
    """The witnessed notes the auditor checks the ledger against, under ``witness/``:
    the witness public key, and every checkpoint and anchors note of this log that is
    signed with it, from every witness folder (one copy of each). A note that does not
    verify is not shipped: it is not the witness's; `audit verify` names it."""
    public, _ = witnessed.witness_public(ctx.settings)
    if public is None:
        return {}
    notes = witnessed.read_all(ctx.settings, origin)
    files: dict[str, bytes] = {}
    for kind, paths in (
        ("checkpoints", [seen.where for seen in notes.checkpoints]),
        ("anchors", list(dict.fromkeys(seen.where for seen in notes.anchors))),
    ):
        for where in paths:
            name, number = f"witness/{kind}/{Path(where).name}", 1
            while name in files:  # the same name, another note, in another folder
                number += 1
                name = f"witness/{kind}/{Path(where).stem}-{number}{Path(where).suffix}"
            files[name] = witnessed.read_note(Path(where)).encode("utf-8")
    if files:
        files["witness/witness.vkey"] = (vkey(origin, public) + "\n").encode()
    return files


def _private(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb")
