"""Coverage per package, from coverage.py's JSON report: one line each, then the total.

    python .ci/coverage_by_package.py coverage.json [screening]

The packages come from the tree, not from a list: each top-level package of `screening/`
is one line with everything under it, and each top-level module (config.py, errors.py)
is one too; a package that holds nothing but its __init__.py and packages (services/, one
package per job) is split into those packages. Measured, not judged: no threshold.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def only_groups(folder: Path) -> bool:
    """Whether a package holds packages and no module but its __init__.py."""
    children = list(folder.iterdir())
    return not any(p.suffix == ".py" and p.name != "__init__.py" for p in children) and any(
        (p / "__init__.py").is_file() for p in children
    )


def units(folder: Path) -> list[Path]:
    """The folders and modules that get a line each, split where a package only groups."""
    found = []
    for child in sorted(folder.iterdir()):
        if child.is_dir() and (child / "__init__.py").is_file():
            found += [child / "__init__.py", *units(child)] if only_groups(child) else [child]
        elif child.suffix == ".py":
            found.append(child)
    return found


def unit_of(path: Path, lines: list[Path]) -> Path | None:
    """The deepest line whose folder holds ``path`` (or which is ``path`` itself)."""
    holding = [unit for unit in lines if path == unit or unit in path.parents]
    return max(holding, key=lambda unit: len(unit.parts), default=None)


def main(argv: list[str]) -> int:
    report = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    root = Path(argv[2] if len(argv) > 2 else "screening")
    lines = units(root)
    tally = {unit: [0, 0] for unit in lines}
    for name, measured in report["files"].items():
        unit = unit_of(Path(name), lines)
        if unit is None:
            continue
        tally[unit][0] += measured["summary"]["num_statements"]
        tally[unit][1] += measured["summary"]["missing_lines"]
    width = max(len(unit.as_posix()) for unit in lines)
    print(f"{'package':<{width}}  {'stmts':>6}  {'missed':>6}  {'cover':>6}")
    for unit, (statements, missed) in tally.items():
        if statements:
            print(f"{unit.as_posix():<{width}}  {statements:>6}  {missed:>6}  "
                  f"{100 * (statements - missed) / statements:>5.1f}%")  # fmt: skip
    totals = report["totals"]
    print(f"{'total':<{width}}  {totals['num_statements']:>6}  {totals['missing_lines']:>6}  "
          f"{totals['percent_covered']:>5.1f}%")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
