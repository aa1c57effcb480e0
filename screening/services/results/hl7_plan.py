"""A lab's HL7 message read into what it says of each order: the specimen it names (by
the lab's map), its digest (to recognise it when sent again), and each observation as
we record it, with every problem found on the way (hl7_import.py records them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from screening.config import LabMap
from screening.core.hl7v2 import Message, Order
from screening.services.plumbing.context import Context
from screening.services.results.hl7_map import Reading, meaning_of, read


@dataclass
class Planned:
    """One order of one message, read: where it points and what it says."""

    message: Message
    order: Order
    specimen: str
    field_name: str
    key: str
    readings: list[Reading] = field(default_factory=list)


def located(line: int, segment: str) -> str:
    return f"line {line}, segment {segment}"


def plan_message(ctx: Context, message: Message, problems: list[tuple[int, str]]) -> list[Planned]:
    settings = ctx.settings
    found = settings.labs.labs_of(message.facility.namespace, message.facility.universal_id)
    if len(found) > 1:
        names = " and ".join(f"[labs.{n}]" for n, _ in found)
        problems.append(
            (
                message.line,
                f"{located(message.line, 'MSH')}: the sender {message.facility.show()!r} "
                f"matches {names}; a lab has one map: merge them",
            )
        )
        return []
    name, lab = found[0] if found else (None, None)
    planned: list[Planned] = []
    meant = 0
    unknown: list[tuple[int, str]] = []
    for position, order in enumerate(message.orders, start=1):
        specimen, field_name = _specimen(order, lab)
        where_order = located(order.line, "OBR")
        if not specimen:
            unknown.append(
                (
                    order.line,
                    f"{where_order}: no specimen id in {field_name}"
                    + (f" (the map of lab {name} says {field_name})" if lab else "")
                    + "; the lab's map can name SPM-2, OBR-3 or OBR-20 ([labs.NAME] specimen_id)",
                )
            )
        key = _key(message, order, position)
        plan = Planned(message, order, specimen, field_name, key)
        first_line: dict[tuple[str | None, ...], int] = {}
        for observation in order.observations:
            where = located(observation.line, f"OBX {observation.set_id}".rstrip())
            meaning = meaning_of(observation, lab, settings.vocabulary)
            if meaning is None:
                text = (
                    f"{where}: code {observation.code.show()!r} is neither one of the "
                    "vocabulary's LOINC codes nor in "
                    + (
                        f"[labs.{name}.codes]"
                        if name
                        else f"a [labs.NAME] map for {message.facility.show()!r}"
                    )
                    + '; map it (e.g. "CODE" = { assay = "AMP", method = "screen" }, or '
                    "ignore = true)"
                )
                unknown.append((observation.line, text))
                continue
            meant += 1
            if meaning.ignore:
                continue
            reading = read(observation, order.status, meaning, settings.vocabulary, where)
            # One answer and one level per analyte and method (labs often send both: the
            # "[Presence]" and the "[Mass/volume]" code); the two must agree, as a level
            # and an outcome stated together must.
            measured = reading.level is not None or reading.bound is not None
            what = (meaning.assay, meaning.method, meaning.measure, "level" if measured else "")
            if what in first_line:
                unknown.append(
                    (
                        observation.line,
                        f"{where}: {meaning.assay or meaning.measure} is already reported on "
                        f"line {first_line[what]} of this order; one value each",
                    )
                )
                continue
            first_line[what] = observation.line
            unknown.extend((observation.line, text) for text in reading.problems)
            if reading.status != "in_process":
                plan.readings.append(reading)
        planned.append(plan)
    count = sum(len(order.observations) for order in message.orders)
    if count == 0 and message.orders and all(o.status in ("I", "O", "S") for o in message.orders):
        return []  # the lab's status update: in the lab, nothing to record yet
    if count == 0:
        problems.append(
            (
                message.line,
                f"{located(message.line, 'MSH')}: message {message.control_id} holds no "
                "observation (OBX): is the file whole? A file cut short, or still being "
                "written, is refused; ask the lab to send it again",
            )
        )
        return []
    if meant == 0 and lab is None:
        problems.append(
            (
                message.line,
                f"{located(message.line, 'MSH')}: message {message.control_id} from "
                f"{message.facility.show() or message.application!r} holds no drug-screen "
                f"results (none of its {count} observations has a code the vocabulary's "
                "LOINC codes or a [labs] map know); nothing to import. If it is your "
                "toxicology lab, map its codes under [labs.NAME] in the config",
            )
        )
        return []  # its orders point nowhere worth naming
    problems.extend(unknown)  # codes no map knows, orders with no specimen id
    return planned


def _specimen(order: Order, lab: LabMap | None) -> tuple[str, str]:
    wanted = lab.specimen_id if lab is not None else None
    if wanted == "OBR-3":
        return order.filler, "OBR-3"
    if wanted == "OBR-20":
        return order.obr20, "OBR-20"
    ids = sorted(set(order.specimen_ids))
    if ids or wanted == "SPM-2":
        return (ids[0] if len(ids) == 1 else ""), "SPM-2"
    return order.filler, "OBR-3"


def _key(message: Message, order: Order, position: int) -> str:
    """The digest by which this order of this message is recognised when sent again: the
    lab, the message's control id, and the order (its numbers, its test and its place in
    the message: one accession number may head a screen and a confirmation)."""
    facility = message.facility
    parts = (
        " ".join(facility.namespace.split()).casefold(),
        facility.universal_id.strip().upper(),
        message.control_id,
        order.filler,
        order.placer,
        order.code.id,
        str(position),
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
