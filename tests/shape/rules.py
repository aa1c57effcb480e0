"""The rules DESIGN §2 and docs/architecture.md set for `screening/`: layers, the order of
the packages of `services/`, the CLI calling services through faces, no face hiding a
module, no layer using a library that is not its job, the code the doc names exists, and
no module past 400 lines (STYLE §8).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.shape.graph import Import, bound_names, modules

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "screening"
DOC = ROOT / "docs" / "architecture.md"

# DESIGN §2, bottom to top: a layer imports only from itself and the layers below it.
LAYERS = ("db", "core", "services", "render", "cli")
# `python -m screening` starts the CLI: it sits above it.
ENTRY = "__main__"
# Beside the layers (DESIGN §2), imported from all: settings, exceptions, and the package's
# own __init__ (its version). Core imports them, so they import nothing above core.
SHARED = ("config", "errors", "")
SHARED_REACH = "core"
# The auditor's verifier: one file run with Python's standard library alone.
STANDALONE = "data"

MAX_LINES = 400
# Shipped whole in every audit export: an auditor verifies with one file and Python's
# standard library; split, it would need a package installed on the auditor's machine.
LONG_ALLOWED = {"screening/data/screening_verify.py"}

# The heading cell of docs/architecture.md's table of services/ packages, bottom first.
SERVICES_TABLE = "services package"


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_problems(source: Path, found: list[Import]) -> list[str]:
    """Imports from a lower layer to a higher one (DESIGN §2), and modules in no layer."""
    rank = {layer: n for n, layer in enumerate([*LAYERS, ENTRY])}
    known = (*rank, *SHARED, STANDALONE)
    problems = [
        f"{_where(source, m)}: in no layer of DESIGN §2 ({', '.join(filter(None, known))})"
        for m in modules(source)
        if _layer(m) not in known
    ]
    for each in found:
        mine, theirs = _layer(each.source), _layer(each.target)
        at = f"{_where(source, each.source)}:{each.line}: imports {each.target}"
        if mine == STANDALONE:
            problems.append(f"{at}; {STANDALONE}/ is standalone and imports nothing of ours")
        elif theirs in SHARED or mine not in known or theirs not in rank:
            continue
        elif rank[theirs] > rank[SHARED_REACH if mine in SHARED else mine]:
            problems.append(f"{at}, a higher layer than {mine or source.name}")
    return problems


def services_order(doc: Path) -> list[str]:
    """The packages of services/ in the doc's table, bottom first."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    heads = [n for n, line in enumerate(lines) if _cells(line)[:1] == [SERVICES_TABLE]]
    assert heads, f"{doc.name} has no table headed '| {SERVICES_TABLE} |'"
    order = []
    for line in lines[heads[0] + 2 :]:
        if not line.startswith("|"):
            break
        order.append(_cells(line)[0].strip("`").rstrip("/"))
    return order


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")] if "|" in line else []


def services_problems(source: Path, doc: Path, found: list[Import]) -> list[str]:
    """Package folders missing from the doc's table (or the reverse), modules outside the
    packages, and imports from a package to one above it in the table."""
    order = services_order(doc)
    services = source / "services"
    folders = {p.name for p in services.iterdir() if p.is_dir() and not p.name.startswith("__")}
    problems = [f"services/{name}/ is not in {doc.name}'s table" for name in folders - {*order}]
    problems += [f"{doc.name}'s table names {name}, which has no folder in services/"
                 for name in order if name not in folders]  # fmt: skip
    problems += [
        f"{_where(source, m)}: a module outside the packages of services/"
        for m, path in modules(source).items()
        if path.parent == services and path.name != "__init__.py"
    ]
    rank = {name: n for n, name in enumerate(order)}
    for each in found:
        mine, theirs = _service_package(each.source), _service_package(each.target)
        if mine in rank and theirs in rank and rank[theirs] > rank[mine]:
            problems.append(
                f"{_where(source, each.source)}:{each.line}: imports {each.target}; "
                f"{theirs} is above {mine} in {doc.name}"
            )
    return problems


def doc_problems(source: Path, doc: Path) -> list[str]:
    """Code the doc names that is not there: each `path/` or `path.py` (from screening/,
    its services/ or the repository), and each `path.py:name` with its function or class."""
    problems = []
    for named in re.findall(
        r"`([a-z0-9_/]+(?:/|\.py)(?::[A-Za-z0-9_]+)?)`", doc.read_text("utf-8")
    ):
        path, _, name = named.partition(":")
        places = (source / path, source / "services" / path, source.parent / path)
        where = next((place for place in places if place.exists()), None)
        if where is None:
            problems.append(f"{doc.name} names {path}, which is not in {source.name}/")
        elif name and not any(
            isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name
            for node in ast.parse(where.read_text(encoding="utf-8")).body
        ):
            problems.append(f"{doc.name} names {named}: {path} defines no {name}")
    return problems


def _service_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "services" else None


def face_problems(source: Path, found: list[Import]) -> list[str]:
    """CLI imports from services that go past a package's face or take what it does not
    export."""
    problems = []
    for each in found:
        if _layer(each.source) != "cli" or _layer(each.target) != "services":
            continue
        at = f"{_where(source, each.source)}:{each.line}: imports {each.target}"
        package = each.target.split(".")
        if len(package) != 3 or not each.names:
            problems.append(f"{at}; the CLI takes names from a face: from {source.name}."
                            f"services.<package> import <name>")  # fmt: skip
            continue
        exported = _exported(source / "services" / package[2] / "__init__.py")
        missing = [name for name in each.names if name not in exported]
        if missing:
            problems.append(f"{at} {', '.join(missing)}, not in its __all__")
    return problems


def _exported(init: Path) -> set[str]:
    for node in ast.parse(init.read_text(encoding="utf-8")).body if init.is_file() else []:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["__all__"]:
            return set(ast.literal_eval(node.value))
    return set()


def face_collisions(source: Path) -> list[str]:
    """A package's __init__ that binds a name one of its modules also has: `import
    package.module as m` then gives the name, not the module (Python looks up the
    attribute first), and a patch of `package.module.X` lands on the wrong object."""
    problems = []
    for name, path in modules(source).items():
        if path.name != "__init__.py":
            continue
        own = {p.stem for p in path.parent.glob("*.py")} | {
            p.name for p in path.parent.iterdir() if (p / "__init__.py").is_file()
        }
        for clash in sorted(bound_names(path, name) & own):
            problems.append(
                f"{_where(source, name)} binds {clash}, the name of its module {clash}: "
                "rename the module"
            )
    return problems


# What a layer must not import from outside the package: the core is pure (no database,
# no terminal), the services and the database return plain data (no terminal, no HTML),
# and rendering reads no database.
FORBIDDEN = {
    "core": {"sqlmodel", "sqlalchemy", "alembic", "psycopg", "apscheduler", "typer", "click",
             "rich", "jinja2"},
    "db": {"typer", "click", "rich", "jinja2", "apscheduler"},
    "services": {"typer", "click", "rich", "jinja2"},
    "render": {"sqlmodel", "sqlalchemy", "alembic", "psycopg", "apscheduler"},
}  # fmt: skip


def third_party_problems(source: Path) -> list[str]:
    """Imports of libraries a layer must not use (FORBIDDEN)."""
    problems = []
    for name, path in modules(source).items():
        banned = FORBIDDEN.get(_layer(name), set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in sorted(set(tops) & banned):
                problems.append(f"{_where(source, name)}:{node.lineno}: imports {top}, "
                                f"which {_layer(name)}/ does not use")  # fmt: skip
    return problems


def long_modules(source: Path) -> list[str]:
    """Modules past MAX_LINES lines, but for those allowed (with their reason) above."""
    found = []
    for path in sorted(source.rglob("*.py")):
        where = path.relative_to(source.parent).as_posix()
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_LINES and where not in LONG_ALLOWED:
            found.append(f"{where}: {count} lines")
    return found


def _where(source: Path, module: str) -> str:
    return modules(source)[module].relative_to(source.parent).as_posix()
