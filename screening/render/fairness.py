"""`audit fairness --format html`: one self-contained, escaped page an auditor can print."""

from __future__ import annotations

from typing import Any

SECTIONS = (
    (
        "weekdays",
        "Weekday shares",
        "Selections on each weekday against what the chances of the clients in each day's "
        "pool add up to: a fair draw favours no day.",
    ),
    (
        "months",
        "Month shares",
        "Selections per month against the expected, weighted by how many clients were in "
        "the pool that month.",
    ),
    (
        "predictability",
        "Days since the last selection",
        "The chance of being drawn again, by days since a client's last selection: flat at "
        "the policy's chance when nobody can tell from the calendar who is due.",
    ),
)


def render_fairness_html(site: str, data: dict[str, Any]) -> str:
    """The report; each printed page names the site and the last day analysed."""
    from screening.render.page import environment

    period = data["period"]
    clients = sorted(data["clients"], key=lambda c: (c["words"] != "worth a look", c["adjusted"]))
    return str(
        environment()
        .get_template("fairness.html")
        .render(
            site=site,
            day=period["to"],
            period=f"{period['from'] or 'the first draw'} to {period['to']}",
            data=data,
            sections=SECTIONS,
            bars={name: _bars(data[name]["groups"]) for name, _, _ in SECTIONS},
            clients=clients,
        )
    )


def _bars(groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Selections per 100 client-days, observed and expected, scaled to 100 pixels."""
    rates = {
        name: (
            100 * g["observed"] / g["client_days"] if g["client_days"] else 0.0,
            100 * g["expected"] / g["client_days"] if g["client_days"] else 0.0,
            g["words"] == "worth a look",
        )
        for name, g in groups.items()
    }
    top = max((max(o, e) for o, e, _ in rates.values()), default=0.0) or 1.0
    return {
        "top": round(top, 1),
        "groups": [
            (
                name,
                {"observed": round(100 * o / top), "expected": round(100 * e / top), "look": look},
            )
            for name, (o, e, look) in rates.items()
        ],
    }
