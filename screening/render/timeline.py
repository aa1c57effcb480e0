"""A client's timeline as text (80 columns, colour only where the terminal has it),
CSV and self-contained HTML. The data come from services/progress/client_timeline.py."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from screening.core.timeline import LEGEND
from screening.core.wording import plural

_STYLE = {
    "-": "green",
    "e": "cyan",
    "p": "bold red",
    "P": "bold red",
    "T": "bold magenta",
    "n": "yellow",
    "d": "yellow",
    "N": "red",
    "R": "red",
    "U": "yellow",
    "E": "blue",
    "*": "bold",
    "o": "bold red",
    "H": "dim",
    "C": "dim",
    "x": "dim",
    "?": "yellow",
}
DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
CELL = 3  # columns a day takes in the text calendar: its heading and its symbol alike


def calendar_header() -> list[str]:
    """The day headings, each as wide as the cells under it, so each heading starts in the
    column where its days' symbols are."""
    return [f"{name:<{CELL}}" for name in DAYS]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def rate_words(m: dict[str, Any]) -> str:
    """The negative rate with its basis and, when there were misses, what the policy made
    of them: "60% (6 of 10; 4 misses counted as positive, per policy)"."""
    if m["negative_rate"] is None:
        basis = "no screen with an outcome yet"
    else:
        basis = f"{m['negatives']} of {m['rated']}"
    if m["misses_in_rate"]:
        basis += f"; {plural(m['misses_in_rate'], 'miss')} counted as positive, per policy"
    elif m["misses"]:
        basis += f"; {plural(m['misses'], 'miss')} kept apart, per policy"
    return f"{_percent(m['negative_rate'])} ({basis})"


def measure_lines(m: dict[str, Any]) -> list[tuple[str, str]]:
    """The measures (core/measures.py) in words, in the order a clinician asks about them."""
    since = m["days_since_unexpected_positive"]
    substances = (
        "; ".join(
            f"{month}: " + ", ".join(f"{code} ×{n}" for code, n in counts.items())
            for month, counts in m["substances_by_month"].items()
        )
        or "none"
    )
    awaiting = f", {m['awaiting_lab']} awaiting the lab" if m["awaiting_lab"] else ""
    return [
        ("negative run", f"{m['current_negative_run']} now, longest {m['longest_negative_run']}"),
        (
            "screenings",
            f"{m['completed']} completed of {m['due']} due ({_percent(m['completion_rate'])}); "
            f"{m['selected']} selected, {m['for_cause']} for cause{awaiting}",
        ),
        ("negative rate", rate_words(m)),
        (
            "last unexpected +",
            "never"
            if since is None
            else f"{plural(since, 'day')} ago ({m['last_unexpected_positive']})",
        ),
        (
            "misses",
            f"{m['misses_last_30_days']} in the last 30 days, {m['misses_last_7_days']} in 7",
        ),
        ("substances", substances),
    ]


def render_text(data: dict[str, Any], color: bool) -> str:
    """The terminal form; ``color`` False gives plain text (pipes, NO_COLOR, golden files)."""
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=80,
        color_system="standard" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
    )
    client = data["client"]
    status = client["status"] + (
        f" on {client['discharged_on']}" if client["discharged_on"] else ""
    )
    console.print(Text(f"{client['code']}  {client['name'] or ''}".rstrip(), style="bold"))
    console.print(
        f"phase {client['phase']}, track {client['track']}, {status}; day "
        f"{client['days_in_program']} since admission on {client['admitted_on']}"
    )
    console.print(Text("medications: " + (", ".join(client["medications"]) or "none")))
    stood = ", as it stood at the end of that day" if data.get("as_of") else ""
    console.print(
        f"{data['from']} to {data['to']} (measures: the whole history to {data['to']}{stood})"
    )
    console.print()
    console.print(_grid([(label, value) for label, value in measure_lines(data["measures"])]))
    console.print()
    console.print(Text(f"  {'week of':<{len('2026-11-30')}}  " + "".join(calendar_header())))
    for week in data["strip"]:
        line = Text(f"  {week['week_of']}  ")
        for cell in week["days"]:
            line.append(f"{cell:<{CELL}}", style=_STYLE.get(cell, ""))
        console.print(line)
    used = {cell for week in data["strip"] for cell in week["days"]}
    legend = [f"{s if s != ' ' else '(blank)'} {LEGEND[s]}" for s in LEGEND if s in used]
    console.print(_grid([("legend", "; ".join(legend))]), style="dim")
    console.print()
    console.print(_grid([(event["at"], event["text"]) for event in data["events"]]))
    if not data["events"]:
        console.print("  no events in this period")
    text = buffer.getvalue()
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def _grid(rows: list[tuple[str, str]]) -> Any:
    """Two columns; long text wraps under itself, not under the label."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        # Text, not markup: a name or a reason like "[/b]" is shown as typed.
        grid.add_row(Text(f"  {label}"), Text(value))
    return grid


def render_csv(data: dict[str, Any]) -> str:
    """One table for spreadsheets: measures, days and events, each row named by kind."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "key", "value"])
    for name, value in data["measures"].items():
        if name == "substances_by_month":
            for month, counts in value.items():
                for code, n in counts.items():
                    writer.writerow(["substance", f"{month} {code}", n])
        else:
            writer.writerow(["measure", name, "" if value is None else value])
    for week in data["strip"]:
        monday = date.fromisoformat(week["week_of"])
        for offset, cell in enumerate(week["days"]):
            writer.writerow(["day", (monday + timedelta(days=offset)).isoformat(), cell])
    for s in data["screenings"]:
        writer.writerow(
            [
                "screening",
                s["date"],
                f"{s['reason']} {s['status']} "
                f"{s['reading'] or ''} {' '.join(s['positives'])}".strip(),
            ]
        )
    for event in data["events"]:
        writer.writerow(["event", event["at"], event["text"]])
    return out.getvalue()


def render_html(data: dict[str, Any]) -> str:
    """One self-contained page: no scripts, no network, inline SVG, print styles; every
    piece of text escaped by the template engine."""
    from screening.render.page import environment

    return str(
        environment(trim=True)
        .get_template("timeline.html")
        .render(
            data=data,
            legend=LEGEND,
            measures=measure_lines(data["measures"]),
            colors=_HTML_COLORS,
            trend=_trend(data["screenings"]),
        )
    )


_HTML_COLORS = {
    "-": "#2e7d32",
    "e": "#00838f",
    "p": "#c62828",
    "P": "#b71c1c",
    "T": "#6a1b9a",
    "n": "#f9a825",
    "d": "#f9a825",
    "N": "#d84315",
    "R": "#d84315",
    "U": "#f9a825",
    "E": "#1565c0",
    "*": "#424242",
    "o": "#d84315",
    "H": "#bdbdbd",
    "C": "#9e9e9e",
    "x": "#e0e0e0",
    "?": "#f9a825",
    "·": "#f5f5f5",
    " ": "#ffffff",
}


def _trend(screenings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points of the trend chart: the share of negatives among the last five screens that
    count in the negative rate (each screening's ``in_measures``, as the rate counts it)."""
    points, window = [], []
    for s in screenings:
        if s["in_measures"] == "negative":
            window.append(1)
        elif s["in_measures"] == "positive":
            window.append(0)
        else:
            continue
        window = window[-5:]
        points.append({"date": s["date"], "share": round(sum(window) / len(window), 3)})
    return points


def team_for_reading(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Team rows for people (text and HTML): the negative rate as a percentage, as the
    timeline shows it; JSON and CSV keep the number."""
    return [{**row, "negative_rate": _percent(row["negative_rate"])} for row in rows]


def render_table_html(
    title: str,
    rows: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    *,
    site: str,
    day: date | str,
) -> str:
    """A report as one self-contained, escaped HTML page; each printed page names the
    ``site`` and the report's ``day``."""
    from screening.render.page import environment

    cells = [
        [
            ", ".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v)
            for v in (row.get(key) for key, _ in columns)
        ]
        for row in rows
    ]
    return str(
        environment()
        .get_template("table.html")
        .render(title=title, site=site, day=day, headings=[h for _, h in columns], rows=cells)
    )
