"""docs/cli.md, generated from the app itself so the two cannot drift (STYLE §7)."""

from __future__ import annotations

from typing import Any

# How every command spells the same things: the preamble of docs/cli.md.
CONVENTIONS = [
    "## Conventions",
    "",
    "- **Global options** (`--config`, `--db`, `--actor`, `--debug`) go before or after the",
    "  command. `-h` or `--help` on any command shows its options and an example.",
    "- **Output forms:** `--format` names the forms a command has (`text`, `json`, `csv`,",
    "  `html`), in any case; `--json` is short for `--format json`. Wherever there is a",
    "  `--format` there is `--out FILE`: the output written whole or not at all, readable by",
    "  you only (0600), never over one of the clinic's own files.",
    "- **Dates** are `YYYY-MM-DD`, or the clinic's own style once `date_format` is set under",
    "  `[locale]` in the config (`MM/DD/YYYY` or `DD/MM/YYYY`). `--from`/`--to` give a range,",
    '  `--date` an "as of" day; a day something happens is named for it (`--admitted`,',
    "  `--on`, `--late`). Times are shown in the site's time zone, with its abbreviation.",
    "- **Lists** (`--meds`, `--positive`, ...) are separated by `,` or `;`, in CSV files too.",
    "- **Client codes** are matched whatever their case when that names one client; otherwise",
    "  the error offers the closest codes (never names).",
    "- **Reasons:** `--reason` is free text kept as typed, except where the record counts a",
    "  fixed code (`results amend`, `results excuse`, `audit export --purpose`): there a word",
    "  from the list, in any case, with spaces, dashes or underscores.",
    "- **Numbers:** `results list` shows each screening's number (what `--screening` and",
    "  `results reverse` take) and its result's (what `results show` and `results amend` take,",
    "  as does the specimen id).",
    "- **Errors** are one line on stderr with the exit code above; usage errors say how to",
    "  see the command's help. What needs attention is marked with `!` and, on a terminal,",
    "  coloured (`NO_COLOR` turns colour off). CSV files from Excel may be separated by",
    "  commas, semicolons or tabs.",
]


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.extend(_walk(sub, (*path, name)))
    return found


def _usage(path: tuple[str, ...], command: Any) -> str:
    parts = list(path)
    for parameter in command.params:
        if parameter.param_type_name == "argument":
            name = (parameter.metavar or parameter.name).upper()
            parts.append(name if parameter.required else f"[{name}]")
    if any(p.param_type_name == "option" for p in command.params):
        parts.append("[OPTIONS]")
    if getattr(command, "commands", None):
        parts.append("COMMAND")
    return " ".join(parts)


def render_cli_md() -> str:
    import typer.main

    from screening.cli import app
    from screening.cli.examples import EXAMPLES

    root = typer.main.get_command(app)
    lines = [
        "# Command reference",
        "",
        "Generated from the application by `python docs/make_cli_md.py`; do not edit by hand.",
        "Exit codes: 0 done; 1 a check failed; 2 bad input or usage; 3 environment (no config,",
        "no database, schema out of date, key unreadable, server unreachable); 4 not permitted.",
        "",
        *CONVENTIONS,
        "",
    ]
    for path, command in _walk(root, ("screening",)):
        lines += [
            f"## `{' '.join(path)}`",
            "",
            (command.help or "").strip(),
            "",
            "```",
            _usage(path, command),
            "```",
            "",
        ]
        options = [p for p in command.params if p.param_type_name == "option"]
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        if arguments or options:
            lines += ["| name | meaning |", "| --- | --- |"]
            for parameter in arguments:
                name = (parameter.metavar or parameter.name).upper()
                lines.append(f"| `{name}` | {getattr(parameter, 'help', '') or ''} |")
            for parameter in options:
                help_text = (parameter.help or "").replace("|", "\\|")
                if parameter.required:
                    help_text += " (required)"
                value = (
                    "" if parameter.is_flag or not parameter.metavar else f" {parameter.metavar}"
                )
                lines.append(f"| `{', '.join(parameter.opts)}{value}` | {help_text} |")
            lines.append("")
        examples = EXAMPLES.get(path[1:])
        if examples:
            lines += ["Examples:", "", "```", *examples, "```", ""]
    return "\n".join(lines).rstrip() + "\n"
