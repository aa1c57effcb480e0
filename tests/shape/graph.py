"""Who imports whom in a package, read with `ast`, and the circles among them.

Every import counts, at module level or inside a function, absolute or relative, or by
name through `importlib.import_module`: each one runs when it is reached. Importing
`a.b.c` runs the __init__ of `a.b` first, so a circle between packages through their
faces is a circle.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from dataclasses import dataclass
from pathlib import Path


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
                bound = bound_names(known[base], base) if base in known else set()
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
def bound_names(path: Path, package: str) -> set[str]:
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
