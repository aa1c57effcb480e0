"""The fixed cost of a command that touches the database, and where it goes.

`select` and `results import` are measured against floors that do only part of what the
command must do before its own work starts: Python's start, the imports, the config, the
engine. The smallest command that shows that fixed cost is `clients list` on a clinic of
20 clients (one query of 20 rows): this figure measures it against `python -c "import
sqlmodel"`, then splits it in one process (the ``fixed-parts`` child of bench/run.py):

1. the modules the command imports, learnt from a first run under ``-X importtime``
   (which prints them children first), are imported again one by one in that order, so
   that each import costs only its own module's code, and summed by package;
2. the command then runs in the same process (nothing left to import), with every SQL
   statement timed, and the rest of its time split at the engine's first connection.

Both children run from bytecode: bench/run.py compiles the package first (an installed
copy has its bytecode; with ``PYTHONDONTWRITEBYTECODE`` set, as on this project's CI
machine, every command would otherwise compile 100 modules from source).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

CLIENTS = 20
# How the imports are summed: the first matching prefix names the group.
GROUPS = (
    ("screening.db", "screening.db: the table models"),
    ("screening.config", "screening.config: the config's models"),
    ("screening.services", "screening.services"),
    ("screening.core", "screening.core"),
    ("screening.cli", "screening.cli and render"),
    ("screening.render", "screening.cli and render"),
    ("screening", "screening (other)"),
    ("sqlite3", "sqlite3 and psycopg"),
    ("psycopg", "sqlite3 and psycopg"),
    ("typer", "typer, click and rich"),
    ("click", "typer, click and rich"),
    ("rich", "typer, click and rich"),
    ("cryptography", "cryptography"),
)
OTHER = "other libraries"


def group_of(module: str) -> str:
    for prefix, name in GROUPS:
        if module == prefix or module.startswith(prefix + "."):
            return name
    return OTHER


def imported_in_order(argv: list[str], env: dict[str, str]) -> list[str]:
    """The modules ``python -m screening ARGV`` imports, children before parents, as
    ``-X importtime`` prints them."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "screening", *argv],
        capture_output=True,
        env={**os.environ, **env},
        text=True,
        check=True,
    )
    names = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            names.append(line.rsplit("|", 1)[1].strip())
    return names


def floor_modules() -> set[str]:
    """What `import sqlmodel` imports: the floor has paid for those."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, sqlmodel; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


def parts(config_file: str, argv: list[str]) -> dict[str, float]:
    """Seconds by part, measured in this process (see the module's doc)."""
    started = time.perf_counter()
    import sqlmodel  # noqa: F401 (the floor: what `import sqlmodel` loads)

    spent: dict[str, float] = {"the floor's imports (sqlmodel, sqlalchemy, pydantic)": 0.0}
    spent["the floor's imports (sqlmodel, sqlalchemy, pydantic)"] = time.perf_counter() - started
    command = ["--config", config_file, *argv]
    for name in imported_in_order(command, {}):
        if name in sys.modules:
            continue
        began = time.perf_counter()
        with contextlib.suppress(ImportError):  # a module only one platform has
            importlib.import_module(name)
        key = "import " + group_of(name)
        spent[key] = spent.get(key, 0.0) + time.perf_counter() - began
    spent.update(_run(command))
    return spent


def _run(command: list[str]) -> dict[str, float]:
    """Run the command in this process; its SQL statements, and the time before the
    engine's first connection (config, context, checks) and after it."""
    import sqlalchemy as sa
    from sqlalchemy import event

    from screening.cli import app

    marks: dict[str, float] = {}
    sql = [0.0, 0]
    pending: list[float] = []

    def before(*_: object) -> None:
        pending.append(time.perf_counter())

    def after(*_: object) -> None:
        sql[0] += time.perf_counter() - pending.pop()
        sql[1] += 1

    def connected(*_: object) -> None:
        marks.setdefault("connect", time.perf_counter())

    event.listen(sa.engine.Engine, "before_cursor_execute", before)
    event.listen(sa.engine.Engine, "after_cursor_execute", after)
    event.listen(sa.pool.Pool, "connect", connected)
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        app(command, standalone_mode=False)
    ended = time.perf_counter()
    first = marks.get("connect", ended)
    return {
        "run: arguments, config and engine, to the first connection": first - began,
        f"run: its {sql[1]} SQL statements": sql[0],
        "run: the rest (the command's own code, the table printed)": ended - first - sql[0],
    }


def parts_child(config_file: str, *argv: str) -> None:
    print(json.dumps(parts(config_file, list(argv))))


def clinic(folder: Path, python: str) -> Path:
    """A clinic of ``CLIENTS`` clients (made once: init, then one import of a CSV)."""
    config = folder / "screening.toml"
    if (folder / "made").exists():
        return config
    folder.mkdir(parents=True, exist_ok=True)
    screening: Callable[..., None] = lambda *args: subprocess.run(  # noqa: E731
        [python, "-m", "screening", "--config", str(config), *args],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    screening("init", "--site", "main", "--timezone", "America/New_York")
    rows = ["code,name,track,phase,admitted_on,medications"] + [
        f"F-{n:03d},Client {n},morning,1,2026-01-05," for n in range(1, CLIENTS + 1)
    ]
    (folder / "clients.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    screening("clients", "import", str(folder / "clients.csv"))
    (folder / "made").write_text("", encoding="utf-8")
    return config


def compile_package() -> None:
    """Write the bytecode of the package, as an installed copy has it (see above)."""
    import compileall

    import screening

    compileall.compile_dir(Path(screening.__file__).parent, quiet=1)
