"""After the draw: screenings settled, excused or reversed, results recorded and
amended, each checked against the screening it names."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from screening.core.ledger import parse_rfc3339
from screening.core.policy import collection_deadline
from screening.core.replay.broken import Broken
from screening.core.replay.state import Kept


class Screenings(Kept):
    """Screening, result and amendment entries."""

    def _take_screening(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        if body["action"] == "create":
            policy_body = self._policies.get(site)
            if policy_body is None:
                raise Broken(seq, f"entry {seq}: a screening at {site} before any policy")
            self._new_screening(
                seq,
                body["uid"],
                site,
                date.fromisoformat(body["date"]),
                body["reason"],
                collection_deadline(at, policy_body),
                body["observed"],
                body["note"],
                because=body["because"],
            )
            return
        state = self._screening(seq, body["screening"])
        key = (body["screening"][0], body["screening"][1])
        if body["action"] == "reverse":
            self._reverse(seq, site, key, state, body)
            return
        # The one change after settling: a collection whose specimen turned out to be
        # another client's (a wrong_client amendment) leaves the screening inconclusive.
        result = self._result_of.get(key)
        voided = (
            state["status"] == "collected"
            and body["status"] == "inconclusive"
            and result is not None
            and self.results.get(result)["void"]
        )
        if body.get("excuse") == "hold":
            self._check_hold_excusal(seq, key, state, body)
            self.hold_excusals.append(
                f"{site} {state['date']} (entry {seq}, hold entry {body.get('hold')})"
            )
        if state["status"] != "pending" and not voided:
            raise Broken(
                seq,
                f"entry {seq}: the screening was already {state['status']}; a "
                "screening never changes again once settled",
            )
        state.update(
            status=body["status"],
            status_note=body["note"],
            excuse=body["excuse"],
            # Older entries hold the approver's name, newer ones its digest.
            approved_by=body["approver"] if "approver" in body else body["approved_by"],
            auto=body["auto"],
            latest=seq,
        )
        self.screenings[key] = state
        member = self._member(key[1])
        member.open.pop(key[0], None)
        if voided:
            day = date.fromisoformat(state["date"])
            member.collected[day] -= 1
            if member.collected[day] <= 0:
                del member.collected[day]
        if body["status"] == "cancelled":
            screened = self._member(key[1]).screened
            day = date.fromisoformat(state["date"])
            screened[day] -= 1
            if not screened[day]:
                del screened[day]

    def _check_hold_excusal(
        self, seq: int, key: tuple[int, str], state: dict[str, Any], body: dict[str, Any]
    ) -> None:
        """An excusal by a hold names the hold, which must be the client's and cover the
        screening's day: no excusal can claim a hold that was never entered."""
        ref = body.get("hold")
        known = self.holds.get(ref) if isinstance(ref, int) else None
        day = state["date"]
        if state.get("draw") is None:
            raise Broken(
                seq,
                f"entry {seq}: a hold excuses a screening nobody drew ({state['reason']}); "
                "only a drawn screening is excused by a hold",
            )
        if (
            known is None
            or known[1]["uid"] != key[1]
            or not (known[1]["from"] <= day <= known[1]["to"])
        ):
            raise Broken(
                seq,
                f"entry {seq}: the screening of {day} is excused by a hold that does not cover it",
            )

    def _reverse(
        self,
        seq: int,
        site: str,
        key: tuple[int, str],
        state: dict[str, Any],
        body: dict[str, Any],
    ) -> None:
        """A miss staff recorded, reversed by an amendment: it becomes excused, and the
        reversal is flagged in audits. The sweep's no-shows are settled by a late entry
        instead, never reversed."""
        if state["status"] not in ("no_show", "refused", "unable_to_provide") or state["auto"]:
            raise Broken(
                seq,
                f"entry {seq}: a reversal of a screening that is {state['status']}"
                + (" (by the sweep)" if state["auto"] else "")
                + "; only a miss recorded by staff can be reversed",
            )
        if body["reversed"] != state["status"] or body["status"] != "excused":
            raise Broken(seq, f"entry {seq}: the reversal does not match the miss it reverses")
        state.update(
            status="excused",
            status_note=body["note"],
            excuse=body["excuse"],
            approved_by=None,
            auto=False,
            latest=seq,
            reversed=body["reversed"],
            reversal_approver=body["approver"],
        )
        self.screenings[key] = state
        self.reversals.append(f"{site} {state['date']} (entry {seq})")

    def _screening(self, seq: int, ref: list[Any]) -> dict[str, Any]:
        state: dict[str, Any] | None = self.screenings.get((ref[0], ref[1]))
        if state is None:
            raise Broken(
                seq,
                f"entry {seq}: it names a screening (entry {ref[0]}, client "
                f"{ref[1]}) that the ledger never created",
            )
        return state

    def _take_result(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        if body.get("action") != "record":
            raise Broken(seq, f"entry {seq}: a result entry's action is {body.get('action')!r}")
        state = self._screening(seq, body["screening"])
        # A specimen collected before the deadline but entered after it settles the
        # sweep's no-show, or a miss reversed by an amendment; nothing else reopens a
        # screening.
        in_time = parse_rfc3339(body["collected_at"]) <= state["due_by"]
        settles = in_time and (
            (state["status"] == "no_show" and state["auto"])
            or (state["status"] == "excused" and state.get("reversed") is not None)
        )
        if state["status"] != "pending" and not settles:
            raise Broken(seq, f"entry {seq}: a result for a screening already {state['status']}")
        late = at > state["due_by"]
        if "entered_late" in body and (body["entered_late"] is not True or not late):
            raise Broken(
                seq, f"entry {seq}: the result is marked entered late, but it was entered in time"
            )
        if late:
            self.late_entries.append(
                f"{site} {state['date']} (entry {seq}"
                + ("" if body.get("late_reason") else ", no reason recorded")
                + ")"
            )
        state.update(status="collected", auto=False, latest=seq)
        screening = (body["screening"][0], body["screening"][1])
        self.screenings[screening] = state
        member = self._member(screening[1])
        member.open.pop(screening[0], None)
        member.collected[date.fromisoformat(state["date"])] += 1
        self.results[seq] = {
            "screening": screening,
            "latest": seq,
            "site": site,
            "void": False,
            "late": body.get("late_reason"),
            # The entry's own words, beside its digest: each must be the row's.
            "stated": (body["collected_at"], body["method"], body["specimen_type"]),
        }
        self._result_of[screening] = seq
        self.versions[seq] = (seq, body["content"], "recorded")

    def _take_amendment(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        result = self.results.get(body["result"])
        if result is None:
            raise Broken(
                seq,
                f"entry {seq}: an amendment of result entry {body['result']}, "
                "which the ledger never recorded",
            )
        if result["void"]:
            raise Broken(
                seq, f"entry {seq}: an amendment of result entry {body['result']}, which was voided"
            )
        if body["uid"] != result["screening"][1]:
            raise Broken(
                seq,
                f"entry {seq}: the amendment names client {body['uid']}, the "
                f"result is client {result['screening'][1]}'s",
            )
        result.update(latest=seq, void=body["reason"] == "wrong_client")
        self.results[body["result"]] = result
        self.versions[seq] = (body["result"], body["content"], body["reason"])
