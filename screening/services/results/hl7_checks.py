"""Checks of a lab's HL7 order against the collection it names: the collection time
(OBR-7) agrees with the clinic's, and a level has a cutoff to be read against."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from screening.core.hl7v2 import Message, Order, moment
from screening.db.models import Result
from screening.services.plumbing.context import Context
from screening.services.results.hl7_map import Reading, settle_bound
from screening.services.results.lab_files_shared import SAME_COLLECTION


def collection_problem(
    ctx: Context, message: Message, order: Order, result: Result, specimen: str
) -> str | None:
    """What is wrong when the lab's collection time (OBR-7) is not the clinic's (a
    different time is a different specimen behind the same label), or its message was
    sent (MSH-7) before the specimen was collected."""
    zone = ctx.settings.zone
    ours = result.collected_at.astimezone(zone)
    try:
        sent = moment(message.sent_at, zone) if message.sent_at else None
    except ValueError:
        sent = None  # MSH-7 is the lab's, not what matches a specimen: not refused for it
    # With its offset, an instant; without one, the lab's own local time, whose zone we do
    # not know: only a day before the collection's says "sent before it was collected".
    offset = bool(re.search(r"[+-]\d{4}$", message.sent_at.strip()))
    if isinstance(sent, datetime) and offset:
        before = sent.astimezone(UTC) < ours.astimezone(UTC) - SAME_COLLECTION
    else:
        sent_day = sent.date() if isinstance(sent, datetime) else sent
        before = sent_day is not None and sent_day < ours.date() - timedelta(days=1)
    if before:
        return (
            f"the lab's message is dated {message.sent_at} (MSH-7), before specimen "
            f"{specimen} was collected ({ours:%Y-%m-%d %H:%M}): a report on another "
            "specimen with the same label? Check with the lab"
        )
    if not order.collected_at:
        return None
    try:
        said = moment(order.collected_at, zone)
    except ValueError as error:
        return f"OBR-7 (collection time): {error}"
    if isinstance(said, datetime):
        if abs(said.astimezone(UTC) - ours.astimezone(UTC)) <= SAME_COLLECTION:
            return None
        shown = said.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    elif said == ours.date():
        return None
    else:
        shown = said.isoformat()
    return (
        f"the lab says specimen {specimen} was collected {shown}, the clinic recorded "
        f"{ours:%Y-%m-%d %H:%M}: a different specimen? Check the label with the lab (or "
        "the lab's clock or time zone: a time with no offset is read as the clinic's)"
    )


def reading_problem(panel: Any, panel_name: str, reading: Reading, specimen: str) -> str | None:
    """What keeps a lab's observation from being read against this specimen: a LOINC code
    for another kind of specimen, or a level or bound with no cutoff from the lab (OBX-7)
    nor from the panel. A bound the lab gave no cutoff for is read here, by the panel's."""
    if reading.system is not None and reading.system != specimen:
        kind = reading.system.replace("_", " ")
        return (
            f"the code is for a test of {kind}, but the specimen was recorded as "
            f"{specimen.replace('_', ' ')}; check the specimen id, or map the code"
        )
    if reading.assay is None or reading.cutoff is not None:
        return None
    if reading.level is None and reading.bound is None:
        return None
    limits = panel.analytes[reading.assay]
    confirming = reading.method == "confirmation"
    cutoff = limits.confirm if confirming else limits.initial
    if cutoff is not None:
        return settle_bound(reading, cutoff) if reading.bound is not None else None
    method = "confirmation" if confirming else "screen"
    said = reading.said if reading.bound is not None else f"level {reading.level}"
    return (
        f"{reading.assay} {said}, but neither the lab (OBX-7) nor the {panel_name} panel "
        f"gives a {method} cutoff to read it against; add "
        f"{'confirm' if confirming else 'initial'} = NUMBER under "
        f"[panels.{panel_name}.analytes] {reading.assay}, or ask the lab to send its cutoff"
    )
