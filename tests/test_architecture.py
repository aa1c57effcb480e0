"""The shape of `screening/`, read from its source with `ast` (nothing of it is imported).

DESIGN §2 and docs/architecture.md say how the package is built; these tests keep them
true: no import circle; no import from a lower layer to a higher one; the packages of
`services/` imported only downwards, in the order of docs/architecture.md's table, which
names every package folder; the CLI calling services only through each package's face,
and no face binding the name of one of its own modules; no layer using a library that is
not its job (FORBIDDEN); the code docs/architecture.md names exists; no module past 400
lines (STYLE §8). Every import counts, at module level or inside a function, absolute or
relative, or by name through `importlib.import_module`: each one runs when it is reached.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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


@dataclass(frozen=True)
class Import:
    """An import in module ``source`` of module ``target``; ``names``, what `from target
    import ...` takes (none when a module is imported, as `from package import module`)."""

    source: str
    target: str
    line: int
    names: tuple[str, ...] = ()


# Who imports whom: for each module, each module that its imports run, by the import.
Edges = dict[str, dict[str, tuple[Import, str]]]


@functools.cache
def modules(source: Path) -> dict[str, Path]:
    """Every module of the package in the folder ``source``, by dotted name."""
    found = {}
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(source: Path) -> list[Import]:
    """Every import, anywhere in a module, of a module of the package in ``source``."""
    known = modules(source)
    root = source.name
    found = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found += [Import(name, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.Call) and _imported_by_name(node):
                found.append(Import(name, str(ast.literal_eval(node.args[0])), node.lineno))
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, package)
                names = [alias.name for alias in node.names]
                # Python takes a name the package binds before a submodule of that name
                # (a face may export `verify` from its module `verify`).
                bound = _bound(known[base], base) if base in known else set()
                submodules = [
                    f"{base}.{each}"
                    for each in names
                    if f"{base}.{each}" in known and each not in bound
                ]
                found += [Import(name, each, node.lineno) for each in submodules]
                rest = tuple(each for each in names if f"{base}.{each}" not in submodules)
                if rest:
                    found.append(Import(name, base, node.lineno, rest))
    return [each for each in found if each.target.split(".")[0] == root]


def _imported_by_name(call: ast.Call) -> bool:
    """`importlib.import_module("...")` or `__import__("...")`: an import all the same."""
    called = (
        call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    )
    return (
        called in ("import_module", "__import__")
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    )


@functools.cache
def _bound(path: Path, package: str) -> set[str]:
    """The names a package's __init__ binds at its top level (its face), but for its own
    modules that it imports by name (`from package import module`)."""
    if path.name != "__init__.py":
        return set()
    bound = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and _absolute(node, package) == package:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Assign):
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return bound


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module a `from ... import` names, with a relative one resolved in ``package``."""
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    parts = parts[: len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def runs(each: Import) -> list[str]:
    """The modules an import runs: its target and, first, the target's packages' __init__.

    A package that holds the importing module has started already (Python runs a package's
    __init__ before any module in it), so only the packages outside it are run anew.
    """
    started = _self_and_packages(each.source)
    packages = [p for p in _self_and_packages(each.target)[1:] if p not in started]
    return [each.target, *packages]


def _self_and_packages(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def circles(found: list[Import]) -> list[str]:
    """Import circles, each as the chain of imports that closes it: in every tangle of
    modules that reach each other, the shortest circle through each of its modules."""
    edges: Edges = {}
    for each in found:
        for target in runs(each):
            edges.setdefault(each.source, {}).setdefault(target, (each, target))
    chains = set()
    for tangle in _tangles(edges):
        for start in tangle:
            way = _shortest_way_back(start, tangle, edges)
            first = min(range(len(way)), key=lambda n: way[n][0].source)
            chains.add(_chain(way[first:] + way[:first]))
    return sorted(chains)


def _tangles(edges: Edges) -> list[set[str]]:
    """Tarjan's strongly connected components with a circle in them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    tangles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            tangle = set()
            while True:
                member = stack.pop()
                tangle.add(member)
                if member == node:
                    break
            if len(tangle) > 1 or node in edges.get(node, {}):
                tangles.append(tangle)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return tangles


def _shortest_way_back(start: str, tangle: set[str], edges: Edges) -> list[tuple[Import, str]]:
    """The fewest imports from ``start`` round to itself, staying inside ``tangle``."""
    came_by: dict[str, tuple[Import, str]] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target, step in sorted(edges.get(node, {}).items()):
            if target not in tangle or target in came_by:
                continue
            came_by[target] = step
            if target == start:
                way = [step]
                while way[0][0].source != start:
                    way.insert(0, came_by[way[0][0].source])
                return way
            queue.append(target)
    raise AssertionError(f"{start} is in a tangle with no way back")  # Tarjan says there is


def _chain(way: list[tuple[Import, str]]) -> str:
    steps = []
    for each, target in way:
        reached = each.target if target == each.target else f"{each.target} (runs {target})"
        steps.append(f"{each.source}, line {each.line}, imports {reached}")
    chain = " -> ".join([way[0][0].source, *(target for _, target in way)])
    return "\n  ".join([chain, *steps])


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
        for clash in sorted(_bound(path, name) & own):
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


# --- the package itself ---

CHECKS = {
    "import circles": lambda: circles(imports(SOURCE)),
    "imports up the layers": lambda: layer_problems(SOURCE, imports(SOURCE)),
    "services/ against docs/architecture.md": lambda: services_problems(
        SOURCE, DOC, imports(SOURCE)
    ),
    "CLI imports past a package's face": lambda: face_problems(SOURCE, imports(SOURCE)),
    "code named in docs/architecture.md": lambda: doc_problems(SOURCE, DOC),
    "face names that hide a module": lambda: face_collisions(SOURCE),
    "libraries a layer must not use": lambda: third_party_problems(SOURCE),
    f"modules over {MAX_LINES} lines": lambda: long_modules(SOURCE),
}


@pytest.mark.parametrize("check", CHECKS)
def test_the_package_keeps_its_shape(check: str) -> None:
    found = CHECKS[check]()
    assert not found, f"{check} ({len(found)}):\n" + "\n".join(found)


# --- the checker, on packages made for it ---


def _package(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder / "screening"


def test_the_checker_catches_a_circle_and_a_layer_violation(tmp_path: Path) -> None:
    source = _package(
        tmp_path,
        {
            "screening/__init__.py": "",
            "screening/core/__init__.py": "",
            "screening/core/a.py": "from screening.core.b import twice\n",
            # inside a function and relative: it still runs, and closes the circle
            "screening/core/b.py": "def twice():\n    from . import a\n",
            "screening/core/c.py": "import os\n\nfrom ..services.clients import enrol\n",
            "screening/services/__init__.py": "",
            "screening/services/clients.py": "def enrol():\n    pass\n",
        },
    )
    found = imports(source)
    assert circles(found) == [
        "screening.core.a -> screening.core.b -> screening.core.a\n"
        "  screening.core.a, line 1, imports screening.core.b\n"
        "  screening.core.b, line 2, imports screening.core.a"
    ]
    assert layer_problems(source, found) == [
        "screening/core/c.py:3: imports screening.services.clients, a higher layer than core"
    ]


def test_a_package_runs_its_init_for_importers_outside_it(tmp_path: Path) -> None:
    """A face that re-exports its own modules is no circle; a module outside the package
    that reaches into it runs the face, and a circle through the face is one. The table
    orders the packages: clients, below daily, may not import it."""
    source = _package(
        tmp_path,
        {
            "screening/__init__.py": "",
            "screening/services/__init__.py": "",
            "screening/services/clients/__init__.py": (
                "from screening.services.clients.enrol import enrol\n__all__ = ['enrol']\n"
            ),
            "screening/services/clients/enrol.py": "from .rows import Row\n",
            "screening/services/clients/rows.py": "from screening.services.daily.job import x\n",
            "screening/services/daily/__init__.py": "from screening.services import clients\n",
            "screening/services/daily/job.py": "x = 1\n",
            "architecture.md": "| services package | owns |\n|---|---|\n| `clients/` | a |\n"
            "| `daily/` | b |\n",
        },
    )
    assert services_problems(source, tmp_path / "architecture.md", imports(source)) == [
        "screening/services/clients/rows.py:1: imports screening.services.daily.job; "
        "daily is above clients in architecture.md"
    ]
    assert circles(imports(source)) == [
        "screening.services.clients -> screening.services.clients.enrol"
        " -> screening.services.clients.rows -> screening.services.daily"
        " -> screening.services.clients\n"
        "  screening.services.clients, line 1, imports screening.services.clients.enrol\n"
        "  screening.services.clients.enrol, line 1, imports screening.services.clients.rows\n"
        "  screening.services.clients.rows, line 1, imports screening.services.daily.job"
        " (runs screening.services.daily)\n"
        "  screening.services.daily, line 1, imports screening.services.clients"
    ]


def test_the_checker_sees_imports_by_name_hidden_modules_and_banned_libraries(
    tmp_path: Path,
) -> None:
    source = _package(
        tmp_path,
        {
            "screening/__init__.py": "",
            "screening/core/__init__.py": "",
            "screening/core/pure.py": (
                "import importlib\n\nimport sqlalchemy\n\n\n"
                "def later():\n    return importlib.import_module('screening.render.tables')\n"
            ),
            "screening/render/__init__.py": "",
            "screening/render/tables.py": "",
            "screening/services/__init__.py": "",
            "screening/services/audit/__init__.py": "from .verify import verify\n",
            "screening/services/audit/verify.py": "def verify():\n    pass\n",
        },
    )
    assert layer_problems(source, imports(source)) == [
        "screening/core/pure.py:7: imports screening.render.tables, a higher layer than core"
    ]
    assert third_party_problems(source) == [
        "screening/core/pure.py:3: imports sqlalchemy, which core/ does not use"
    ]
    assert face_collisions(source) == [
        "screening/services/audit/__init__.py binds verify, the name of its module verify: "
        "rename the module"
    ]
