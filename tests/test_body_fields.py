"""Every field of every ledger body, rewritten with the chain recomputed, is named by
`audit verify` without any witness (issue 14).

`audit verify` checks that every database column matches the ledger; this is the other
way round. A body field that no row is compared with and the replay does not use could
be rewritten, every later hash recomputed, and only a witnessed checkpoint would show
it. So each field is either compared with its row, checked by the replay (a draw's pool
and selection are recomputed from the key), or listed below as vouched for by the
witnesses only, with the reason (docs/ledger-format.md says the same).

One clinic per backend lives a few days (the tamper test's story, plus a withdrawn hold
and an export); its witness folder is removed, so that only the database and the ledger
are left to catch a rewrite. Each field of one entry of each kind (and each action) is
forged to another plausible value of its type; verify must exit 1 naming the entry; the
field is forged back (the same bytes again) and verify passes.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from screening.core.body_rules import ACTIONS
from screening.services.audit.walk import verify
from screening.services.plumbing.context import Context
from tests.conftest import BACKENDS, Clinic, _pg_schema_url, forge, isolate
from tests.scenarios.conftest import Story
from tests.test_export import SharedClinic
from tests.test_tamper import _context, _live_a_few_days

AFTER = "2026-11-06 09:00"

KINDS = ("genesis", "site", "policy", "commitment", "reveal", "client", "hold", "closure",
         "draw", "draw_amend", "screening", "result", "amendment", "disclosure", "role",
         "viewed")  # fmt: skip

# Caught, but named by the entry the rewrite contradicts, which verify reaches first.
NAMED_ELSEWHERE: dict[tuple[str, str], str] = {
    **{
        ("client/enrol", f"client.{name}"): "the client's next entry, which must keep it, or "
        "the next draw, replayed with it, is named"
        for name in (
            "admitted_on",
            "code",
            "discharged_on",
            "medications",
            "name",
            "phase",
            "track",
        )
    },  # fmt: skip
    ("closure/add", "closure.date"): "its withdrawal names another day and is named",
    ("closure/withdraw", "action"): "replayed as an add, the withdrawn closure's row is named",
    **{
        ("screening/reverse", name): "the screening's row is named, with its latest entry"
        for name in ("approver", "excuse", "note")
    },
}

# Words a field may hold instead (any other one is refused as not the program's).
CHOICES: dict[tuple[str, str], list[Any]] = {
    ("amendment", "reason"): ["data_entry_error", "lab_report"],
    ("disclosure", "purpose"): ["research", "audit"],
    ("result", "method"): ["lab", "point_of_care"],
    ("screening", "reason"): ["for_cause", "recollection"],
    ("screening", "excuse"): ["court", "medical"],
}  # when the auditor runs verify, after the story

# (kind or kind/action, field): why only a witnessed checkpoint shows it rewritten.
WITNESS_ONLY: dict[tuple[str, str], str] = {
    ("disclosure", "to"): "no row keeps whom a ledger was disclosed to: the entry is the record",
    ("disclosure", "purpose"): "no row keeps why a ledger was disclosed: the entry is the record",
    ("disclosure", "what"): "no row keeps what was disclosed: the entry is the record",
    ("genesis", "software"): "the version that wrote entry 1 is kept nowhere else",
    ("genesis", "installation"): "the installation's id is kept in no row (the witnesses' "
    "origin is made from entry 1's hash, so their checkpoints show entry 1 rewritten)",
    ("viewed", "clients"): "no row keeps who was looked at: the entry is the record (a list "
    "of other clients the site knows reads as well-formed)",
    ("viewed", "command"): "no row keeps which read it was: another command of the table "
    "reads as well-formed (one that is no command is named: tests/test_access_log.py)",
}


def _flatten(body: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Each field of a body by its dotted path; a list is one field."""
    for name, value in body.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{path}.")
        else:
            yield path, value


def _kind(document: dict[str, Any]) -> str:
    action = document["body"].get("action")
    return f"{document['kind']}/{action}" if isinstance(action, str) else document["kind"]


def _fields(clinic: Clinic) -> dict[tuple[str, str], tuple[int, list[Any]]]:
    """(kind, field) → the latest entry holding it (a policy: the one the draws were
    made under), and every value it takes in the ledger."""
    found: dict[tuple[str, str], tuple[int, list[Any]]] = {}
    for seq, text in clinic.sql("SELECT seq, canonical FROM ledger ORDER BY seq"):
        document = json.loads(text)
        for path, value in _flatten(document["body"]):
            values = found.get((_kind(document), path), (seq, []))[1]
            found[(_kind(document), path)] = (seq, [*values, value])
    return found


def _changed(kind: str, path: str, value: Any, seen: list[Any]) -> Any:
    """Another value of the same type: another action of the kind, another word of the
    vocabulary, one the field takes in another entry, else a small change (a day, a
    second, a hex digit, one more)."""
    choices = [*ACTIONS.get(kind.split("/")[0], ())] if path == "action" else []
    choices += CHOICES.get((kind.split("/")[0], path), [])
    for other in [*choices, *seen]:
        if other != value and (type(other) is type(value) or value is None):
            return other
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "0" * 64
    if isinstance(value, list):
        return value[:-1] if value else [value]
    if isinstance(value, dict):
        return {}
    text = str(value)
    for parse, step, show in (
        (date.fromisoformat, timedelta(days=1), date.isoformat),
        (lambda t: datetime.fromisoformat(t.replace("Z", "+00:00")), timedelta(seconds=1),
         lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ):  # fmt: skip
        try:
            return show(parse(text) + step)  # type: ignore[operator]
        except ValueError:
            pass
    try:
        uuid.UUID(text)
        return str(uuid.uuid4())
    except ValueError:
        pass
    if all(c in "0123456789abcdef" for c in text) and text:
        return ("1" if text[0] != "1" else "2") + text[1:]
    return text + "x"


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for name in parents:
        body = body[name]
    body[last] = value


def _get(body: dict[str, Any], path: str) -> Any:
    for name in path.split("."):
        body = body[name]
    return body


def _build(clinic: Clinic) -> Clinic:
    story = Story(clinic)
    _live_a_few_days(story)
    story.ok("2026-11-05 09:04", "clients", "hold", "C-1", "--from", "2026-11-04", "--to",
             "2026-11-04", "--reason", "in hospital")  # fmt: skip
    story.ok("2026-11-05 09:05", "clients", "update", "C-1", "--phase", "2")
    story.ok("2026-11-05 09:06", "clients", "readmit", "C-2")
    story.ok("2026-11-05 09:07", "clients", "discharge", "C-5", "--reason", "moved away")
    story.ok("2026-11-05 09:10", "clients", "hold", "C-3", "--from", "2026-11-20", "--to",
             "2026-11-22", "--reason", "travel")  # fmt: skip
    story.ok("2026-11-05 09:11", "clients", "hold-withdraw", "C-3", "--hold", "3",
             "--reason", "cancelled trip")  # fmt: skip
    story.ok("2026-11-05 09:20", "audit", "export", str(clinic.folder / "export"), "--to",
             "State Auditor", "--purpose", "audit")  # fmt: skip
    shutil.rmtree(clinic.folder / "screening-witness")
    story.verify(AFTER)
    return clinic


@pytest.fixture(scope="module", params=BACKENDS)
def lived(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Clinic]:
    """The clinic, built once per backend."""
    tmp_path = tmp_path_factory.mktemp("body")
    with pytest.MonkeyPatch.context() as mp:
        isolate(tmp_path, mp)
        if request.param == "sqlite":
            yield _build(SharedClinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}"))
        else:
            urls = _pg_schema_url()
            try:
                yield _build(SharedClinic(tmp_path, next(urls)))
            finally:
                urls.close()


def _verify(clinic: Clinic) -> Any:
    result = Story(clinic).run(AFTER, "audit", "verify")
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _hashes(clinic: Clinic) -> list[tuple[int, str]]:
    return [tuple(row) for row in clinic.sql("SELECT seq, hash FROM ledger ORDER BY seq")]


def _named(kind: str, path: str, seq: int, stderr: str) -> bool:
    if f"entry {seq}" in stderr:
        return True
    return (kind, path) in NAMED_ELSEWHERE and re.search(r"\bentry \d+", stderr) is not None


def _forged(
    clinic: Clinic, context: Context, kind: str, path: str, seq: int, seen: list[Any]
) -> str:
    """Entry ``seq``'s field rewritten, verify run (in this process, on one engine: the
    command's exit 1 for a problem is the tamper tests'), the field put back; what verify
    missed, or ""."""
    was = _get(_body(clinic, seq), path)
    forge(
        clinic, seq, lambda document: _set(document["body"], path, _changed(kind, path, was, seen))
    )
    problem = verify(context).problem or ""
    forge(clinic, seq, lambda document: _set(document["body"], path, was))
    if _named(kind, path, seq, problem):
        return ""
    return f"{kind} {path} (entry {seq}): {problem!r}"


def _body(clinic: Clinic, seq: int) -> dict[str, Any]:
    text = clinic.sql("SELECT canonical FROM ledger WHERE seq = :s", s=seq)[0][0]
    return json.loads(text)["body"]  # type: ignore[no-any-return]


def test_every_body_field_rewritten_with_the_chain_is_named(
    lived: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Maps in memory (the spilled path is proved by every other verify in the suite).
    monkeypatch.setattr("screening.services.plumbing.spill.CAPACITY", 100_000)
    clinic = lived
    fields = _fields(clinic)
    kinds = {kind.split("/")[0] for kind, _ in fields}
    assert kinds >= set(KINDS), f"the clinic lacks {set(KINDS) - kinds}"
    # Every field is forged (a new one too); those listed as the witnesses' are there.
    assert set(WITNESS_ONLY) <= {(kind.split("/")[0], path) for kind, path in fields}
    before = _hashes(clinic)
    context = _context(clinic)
    try:
        missed = [
            miss
            for (kind, path), (seq, seen) in sorted(fields.items())
            if (kind.split("/")[0], path) not in WITNESS_ONLY
            for miss in [_forged(clinic, context, kind, path, seq, seen)]
            if miss
        ]
    finally:
        context.database.dispose()
    # Each field put back: the same bytes again, so the next was forged on the intact ledger.
    assert _hashes(clinic) == before
    assert not missed, "\n".join(missed)
    assert _verify(clinic).exit_code == 0


def test_the_command_exits_1_naming_a_rewritten_action(lived: Clinic) -> None:
    """As staff see it: a closure's add rewritten as a withdrawal fails `audit verify`."""
    seq = lived.sql("SELECT seq FROM ledger WHERE kind = 'closure' ORDER BY seq")[0][0]
    forge(lived, seq, lambda document: document["body"].update(action="adds"))
    result = _verify(lived)
    forge(lived, seq, lambda document: document["body"].update(action="add"))
    assert result.exit_code == 1
    assert f"entry {seq} (closure): a closure entry's action is 'adds'" in result.stderr
    assert _verify(lived).exit_code == 0
