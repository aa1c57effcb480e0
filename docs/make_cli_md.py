"""Regenerate docs/cli.md from the application: python docs/make_cli_md.py"""

from pathlib import Path

from screening.cli.reference import render_cli_md

(Path(__file__).parent / "cli.md").write_text(render_cli_md(), encoding="utf-8")
