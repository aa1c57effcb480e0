"""Finding the config file and reading it: `--config`, `$SCREENING_CONFIG`, the working
folder, then the user's config folder; unreadable or malformed TOML becomes an error
that says what to do.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from screening.config.checks import parse
from screening.config.model import Settings
from screening.errors import BadInput, EnvironmentProblem

CONFIG_NAME = "screening.toml"


def user_config_path() -> Path:
    from typer import get_app_dir

    return Path(get_app_dir("screening")) / CONFIG_NAME


def discover(explicit: Path | None) -> Path:
    """``--config``, else ``$SCREENING_CONFIG``, else ``./screening.toml``, else the user dir.

    A path named by --config or $SCREENING_CONFIG is used as given (a missing one is an
    error, never replaced by another clinic's config); when nothing names one and none
    is found, the error lists where it looked. $SCREENING_CONFIG naming another file
    than the folder's own ./screening.toml is refused: clinics' client codes overlap, and
    a command typed in one clinic's folder must not write to another's record."""
    if explicit is not None:
        return explicit
    here = Path.cwd() / CONFIG_NAME
    from_env = os.environ.get("SCREENING_CONFIG")
    if from_env:
        named = Path(from_env)
        if here.exists() and named.exists() and not _same_file(named, here):
            raise EnvironmentProblem(
                f"two clinics apply here: $SCREENING_CONFIG names {named.absolute()} and "
                f"this folder has ./{CONFIG_NAME}; pass --config to choose one, or unset "
                "SCREENING_CONFIG"
            )
        return named
    if here.exists():
        return here
    user = user_config_path()
    if user.exists():
        return user
    raise EnvironmentProblem(
        f"no clinic configuration found (looked for --config, $SCREENING_CONFIG, "
        f"{here} and {user}); cd into the clinic's folder, or pass --config PATH"
    )


def _same_file(one: Path, other: Path) -> bool:
    """One file however it is reached (a relative path, a symlink, a hard link)."""
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise EnvironmentProblem(
            f"no configuration at {path}; check the path, or cd into the clinic's folder"
        ) from None
    except PermissionError:
        raise EnvironmentProblem(f"cannot read {path}: permission denied") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"{path}: not valid TOML ({error}); fix that line") from None


def load(path: Path) -> Settings:
    """Read and validate; the first problem becomes the error."""
    settings, problems = parse(read_toml(path), path.absolute())
    if settings is None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BadInput(
            f"{path}: {problems[0]}{more}; run `screening config check` for every problem"
        )
    return settings
