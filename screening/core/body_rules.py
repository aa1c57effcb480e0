"""Checks of ledger body fields that no database row holds (issue 14).

`audit verify` compares every row with what the replayed ledger says of it, and replays
every draw from its key. A body field that neither a row nor the replay looks at could be
rewritten, with every later hash recomputed, and only a witnessed checkpoint would show
it. The fields here are such: what an entry says it does (its ``action``), what entry 1
says of the algorithm, a client entry's list of changed fields, a closure withdrawal's
date. Each is checked against what the ledger itself says elsewhere; docs/ledger-format.md
lists the few fields left to the witnesses.
"""

from __future__ import annotations

from typing import Any

from screening.core.selection import ALGORITHM

# What each kind's ``action`` may be. Older hold and closure entries have none (an add).
ACTIONS: dict[str, tuple[str, ...]] = {
    "client": ("enrol", "update", "discharge", "readmit"),
    "hold": ("add", "end", "withdraw"),
    "closure": ("add", "withdraw"),
    "screening": ("create", "status", "reverse"),
    "site": ("create", "adopt", "timezone"),
    "result": ("record",),
    "consent": ("add", "revoke", "restrict", "lift"),
}


class BodyError(ValueError):
    """A body field the rest of the ledger contradicts; the replay names the entry."""


def check_action(kind: str, body: dict[str, Any]) -> None:
    """An entry's action is one the program writes for its kind: any other would be
    replayed as whatever the replay does by default (a hold or a closure added)."""
    known = ACTIONS.get(kind)
    if known is None or "action" not in body and kind in ("hold", "closure"):
        return
    if body.get("action") not in known:
        raise BodyError(f"a {kind} entry's action is {body.get('action')!r}")


def check_genesis(body: dict[str, Any]) -> None:
    """Entry 1 names the one selection algorithm there is, and an installation id."""
    if body["algorithm"] != ALGORITHM:
        raise BodyError(f"the genesis names algorithm {body['algorithm']!r}, not {ALGORITHM!r}")
    if not isinstance(body["installation"], str) or not body["installation"]:
        raise BodyError("the genesis names no installation")


def check_site_recorded(action: str, has_entries: bool) -> None:
    """A site is created before any entry of its own (the genesis aside); a database made
    before sites were recorded adopts its site after the entries it already had."""
    if action == "create" and has_entries:
        raise BodyError("the site is created after entries of its own (it was adopted)")
    if action == "adopt" and not has_entries:
        raise BodyError("the site is adopted with no entry of its own before it (it was created)")


# What each client action may change in the state (anything else stays as it was).
_MAY_CHANGE: dict[str, tuple[str, ...]] = {
    "update": ("phase", "track", "medications", "name"),
    "discharge": ("status", "discharged_on", "discharge_reason"),
    "readmit": ("status", "admitted_on", "discharged_on", "discharge_reason", "phase", "track"),
}


def check_client_change(action: str, body: dict[str, Any], before: dict[str, Any] | None) -> None:
    """A client entry's action must be what its state did: an enrolment of a new client,
    a discharge or a re-admission that changed the status, an update of an active client
    that names exactly the fields that changed."""
    state = body["client"]
    if state["status"] == "active" and (
        state.get("discharged_on") or state.get("discharge_reason")
    ):
        raise BodyError(f"client {state['uid']} is active with a discharge recorded")
    if action == "enrol":
        if before is not None:
            raise BodyError(f"client {state['uid']} is enrolled again (first in an earlier entry)")
        if state["status"] != "active":
            raise BodyError(f"client {state['uid']} is enrolled as {state['status']}")
        return
    if before is None:
        raise BodyError(f"a client {action} of {state['uid']}, who was never enrolled")
    after_status = {"update": "active", "discharge": "discharged", "readmit": "active"}[action]
    before_status = "discharged" if action == "readmit" else "active"
    if before["status"] != before_status or state["status"] != after_status:
        raise BodyError(
            f"a client {action} of {state['uid']} takes them from {before['status']} to "
            f"{state['status']}"
        )
    # A field an older state did not hold yet is no change.
    changed = sorted(k for k in state if k in before and state[k] != before[k])
    beyond = sorted(set(changed) - set(_MAY_CHANGE[action]))
    if beyond:
        raise BodyError(
            f"a client {action} of {state['uid']} changes {', '.join(beyond)}, which it "
            "never changes"
        )
    if action == "update" and body.get("changed") != changed:
        raise BodyError(
            f"the update of client {state['uid']} says it changed {body.get('changed')}, "
            f"its state changed {changed}"
        )


def check_closure_withdrawal(closure: dict[str, Any], added: dict[str, Any]) -> None:
    """A withdrawal names the day of the closure it withdraws."""
    if closure["date"] != added["date"]:
        raise BodyError(f"it withdraws the closure of {added['date']} but says {closure['date']}")
