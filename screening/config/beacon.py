"""The `[beacon]` table: the public randomness a day's draw waits for (issue 20).

    [beacon]
    kind = "drand-quicknet"         # "none" (the default): the day key alone decides
    relays = ["https://api.drand.sh", "https://drand.cloudflare.com"]
    wait_minutes = 60               # how long a draw may wait for a valid round
    fallback = "wait"               # or "draw": then draw without it, flagged everywhere
    timeout_seconds = 5             # each relay's time to answer

The chain itself (its public key, genesis and period) is pinned in core/beacon.py and
never configured: a relay is only a messenger, and every round is checked against the
pinned key. Which round decides a day is a rule of the policy (docs/beacon.md), and a
change to these settings takes effect the next local day.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The relays drand's League of Entropy runs (docs.drand.love, "HTTP API").
DEFAULT_RELAYS = (
    "https://api.drand.sh",
    "https://api2.drand.sh",
    "https://api3.drand.sh",
    "https://drand.cloudflare.com",
)


def _relay(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(
            f'{value!r} is not a relay\'s address; write its base URL, e.g. "https://api.drand.sh"'
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r}: a relay's base URL takes no ?query or #fragment")
    if parts.username is not None or parts.password is not None:
        # A relay's address is written in messages, logs and a fallback day's ledger entry.
        raise ValueError(
            "a relay's address takes no user name or password (user:secret@); drand's "
            "relays are public"
        )
    path = parts.path.rstrip("/")
    if "/public/" in path + "/" or any(len(part) == 64 for part in path.split("/")):
        # Copied from drand's docs with the chain and round: every request would 404.
        raise ValueError(
            f'{value!r}: write the relay\'s base URL only, e.g. "https://api.drand.sh"; '
            "the chain hash and /public/ROUND are added to it"
        )
    return value.rstrip("/")


class BeaconSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["none", "drand-quicknet"] = "none"
    relays: Annotated[list[Annotated[str, AfterValidator(_relay)]], Field(min_length=1)] = list(
        DEFAULT_RELAYS
    )
    wait_minutes: int = Field(default=60, ge=1, le=24 * 60, strict=True)
    fallback: Literal["wait", "draw"] = "wait"
    timeout_seconds: int = Field(default=5, ge=1, le=60, strict=True)

    @property
    def enabled(self) -> bool:
        return self.kind != "none"
