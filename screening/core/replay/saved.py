"""The replay's state as bytes, for a checkpoint of `audit verify` and back
(services/audit/resume.py keeps them beside the checkpoint, with their SHA-256).

Pickle, because the state is made of the replay's own objects (members, pending draws,
draw states); read back only through ``loads``, whose unpickler finds no class but the
few a replay holds: a file from elsewhere can name nothing else to build or call.
Pure: bytes in, bytes out.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

# (module, name) of every class a replay's state holds; nothing else is ever built.
ALLOWED = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "int"),
        ("builtins", "getattr"),  # only with the zoneinfo class below (see find_class)
        ("collections", "defaultdict"),
        ("collections", "Counter"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("fractions", "Fraction"),
        ("zoneinfo", "ZoneInfo"),
        ("screening.core.replay.members", "Member"),
        ("screening.core.replay.state", "Pending"),
        ("screening.core.replay.state", "DrawState"),
        ("screening.core.selection", "DrawPolicy"),
        ("screening.core.selection", "Candidate"),
        ("screening.core.witnessing", "Follower"),
        ("screening.core.merkle", "Tree"),
        ("screening.core.checkpoint", "Anchor"),
    }
)


class Refused(Exception):
    """Saved bytes that name a class a replay never holds, or are no pickle at all."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise Refused(f"the saved state names {module}.{name}, which a replay never holds")
        if (module, name) == ("builtins", "getattr"):
            return _zone_method
        return super().find_class(module, name)


def _zone_method(owner: Any, name: str) -> Any:
    """What ``getattr`` may fetch while unpickling: ZoneInfo's own constructor only."""
    from zoneinfo import ZoneInfo

    if owner is not ZoneInfo or name != "_unpickle":
        raise Refused("the saved state fetches something other than a time zone")
    return ZoneInfo._unpickle  # type: ignore[attr-defined]


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """``data`` unpickled, building only the classes in ``ALLOWED``."""
    try:
        return _Unpickler(io.BytesIO(data)).load()
    except Refused:
        raise
    except Exception as error:  # any malformed pickle: one kind of problem for the caller
        raise Refused(f"the saved state cannot be read ({type(error).__name__})") from None
