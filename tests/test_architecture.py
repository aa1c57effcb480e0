"""The shape of `screening/` (tests/shape/ reads it with `ast`; nothing of it is imported).

DESIGN §2 and docs/architecture.md say how the package is built; these tests keep them
true: no import circle; no import from a lower layer to a higher one; the packages of
`services/` imported only downwards, in the order of docs/architecture.md's table, which
names every package folder; the CLI calling services only through each package's face,
and no face binding the name of one of its own modules; no layer using a library that is
not its job; the code docs/architecture.md names exists; no module past 400 lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shape.graph import circles, imports
from tests.shape.rules import (
    DOC,
    MAX_LINES,
    SOURCE,
    doc_problems,
    face_collisions,
    face_problems,
    layer_problems,
    long_modules,
    services_problems,
    third_party_problems,
)

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
