"""Canonical JSON, length-prefixed encoding and hashing (DESIGN §5, §6).

Ledger bodies stay inside the subset of JSON where RFC 8785 (JCS) output equals
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``: ASCII keys,
no floats, integers within ±(2^53 − 1). ``canonical_bytes`` refuses anything outside it,
so a body that another JCS implementation would encode differently never reaches the
ledger.

The encoding itself is orjson's (``OPT_SORT_KEYS``): for every value inside the subset
its output is byte for byte ``json.dumps``'s above (tests/test_canonical_orjson.py
compares the two over generated values and over every entry of a generated clinic), at
a tenth of the cost. ``reference_text`` keeps the standard library's encoding: the
definition, and the path of anything outside the subset.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

MAX_SAFE_INTEGER = 2**53 - 1


class NotCanonical(ValueError):
    """A value outside the JSON subset the ledger accepts."""


def lp(data: bytes | str) -> bytes:
    """``LP(b)``: the length as 4-byte big-endian, then the bytes; strings as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonical(f"{path}: integer {value} is outside ±(2^53-1)")
        return
    if isinstance(value, float):
        raise NotCanonical(f"{path}: floats are not allowed; write rates as 'num/den' strings")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise NotCanonical(f"{path}: keys must be ASCII strings, got {key!r}")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise NotCanonical(f"{path}: {type(value).__name__} is not a JSON value")


def _plainly_canonical(value: Any) -> bool:
    """The fast test of the common case (exact built-in types); anything else, or any
    problem, goes to ``_check``, which decides and names where the problem is."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key in item:
                if type(key) is not str or not key.isascii():
                    return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False
    return True


def reference_text(value: Any) -> str:
    """The canonical form by definition: the standard library's sorted compact JSON."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fast_bytes(value: Any) -> bytes | None:
    """orjson's sorted compact bytes of a value ``_plainly_canonical`` accepted, or None
    where orjson refuses it (a string holding a lone surrogate): the reference decides."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None


def canonical_text(value: Any) -> str:
    """The canonical JSON text of ``value`` (refusing values outside the safe subset)."""
    if _plainly_canonical(value):
        fast = _fast_bytes(value)
        if fast is not None:
            return fast.decode("utf-8")
    else:
        _check(value, "$")
    return reference_text(value)


def parsed_if_canonical(data: bytes) -> Any | None:
    """The value ``data`` holds if it is canonical text of a value inside the subset;
    None otherwise (then the reference path parses it and says what is wrong). Accepted
    here only when parsing and encoding again gives the same bytes, with no float and
    no integer beyond ±(2^53−1) in between (orjson parses those without complaint)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not _plainly_canonical(value):
        return None
    return value if _fast_bytes(value) == data else None


def canonical_text_of_stored(value: Any) -> str:
    """The canonical text of a value rebuilt from database rows, to recompute a digest
    the ledger holds: the same encoding without the walk that refuses unsafe values. A
    value edited into something unsafe encodes differently, so its digest differs, or
    does not encode at all: either way verify names it. (Such a value takes the
    reference encoding: orjson would write a NaN read from a stored list as null.)"""
    if _plainly_canonical(value):
        fast = _fast_bytes(value)
        if fast is not None:
            return fast.decode("utf-8")
    return reference_text(value)


def canonical_bytes(value: Any) -> bytes:
    return canonical_text(value).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def private_digest(salt: str, text: str | None) -> str | None:
    """A salted digest of free text or a name, for ledger bodies that must not hold it.

    The salt lives only in the domain row beside the text, never in the ledger, so an
    exported ledger cannot be searched for a guessed name.
    """
    if text is None:
        return None
    return hashlib.sha256(lp("screening/v1/private") + lp(salt) + lp(text)).hexdigest()
