"""The beacon in the tests: published quicknet rounds, a chain of our own that the tests
sign with py_ecc (pure Python, independent of the blst the code uses), and a drand relay
on 127.0.0.1 that serves either. No test reaches the internet.

- ``RECORDED``: rounds drand quicknet published, with where each was read
  (tests/data/drand-quicknet-rounds.json).
- ``TEST_CHAIN``: a chain with quicknet's period and a genesis of our choosing, whose
  secret key is below; ``sign(n)`` gives its round n. ``use_test_chain(monkeypatch)``
  puts it in the place of quicknet for one test (core/beacon.py's CHAINS: the only way
  in, and only from the tests).
- ``Relay``: ``with Relay(chain, rounds) as relay``: ``relay.url`` answers
  ``GET /{chain hash}/public/{round}`` as drand's HTTP API does, for rounds published by
  the (frozen) clock's now; ``relay.mode`` makes it
  misbehave ("ok", "other_round", "flipped", "garbage", "missing", "slow", "drip",
  "no_randomness", "outside_subgroup"), and ``relay.asked`` lists the rounds asked.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from screening.core import beacon
from screening.core.beacon import DST, Chain

DATA = Path(__file__).parent / "data" / "drand-quicknet-rounds.json"
RECORDED: dict[int, dict[str, str]] = {
    int(number): round_ for number, round_ in json.loads(DATA.read_text())["rounds"].items()
}

# The test chain's secret scalar: a fixed number, so that its rounds are the same in
# every run (and may be cached across tests).
_SECRET = 0x5EC12E7_7E57_C4A1_0000_2026
# 2026-01-01T00:00:00Z: the tests' simulated years lie after it.
TEST_GENESIS = 1767225600


@cache
def _public_key() -> bytes:
    from py_ecc.bls.point_compression import compress_G2
    from py_ecc.optimized_bls12_381 import G2, multiply

    z1, z2 = compress_G2(multiply(G2, _SECRET))
    return z1.to_bytes(48, "big") + z2.to_bytes(48, "big")


def test_chain() -> Chain:
    return Chain(
        kind="drand-quicknet",
        chain_hash=hashlib.sha256(b"screening test chain").hexdigest(),
        public_key=_public_key(),
        genesis=TEST_GENESIS,
        period=3,
    )


test_chain.__test__ = False  # type: ignore[attr-defined]  # not a test for pytest


@cache
def sign(number: int) -> bytes:
    """The test chain's signature of round ``number`` (py_ecc: a few ms a round)."""
    from py_ecc.bls.hash_to_curve import hash_to_G1
    from py_ecc.bls.point_compression import compress_G1
    from py_ecc.optimized_bls12_381 import multiply

    point = multiply(hash_to_G1(beacon.message(number), DST, hashlib.sha256), _SECRET)
    return int(compress_G1(point)).to_bytes(48, "big")


def use_test_chain(monkeypatch: pytest.MonkeyPatch) -> Chain:
    """The test chain in the place of quicknet, for this test only."""
    chain = test_chain()
    monkeypatch.setitem(beacon.CHAINS, chain.kind, chain)
    return chain


def recorded_round(number: int) -> dict[str, Any]:
    """A published round as a relay answers it."""
    signature = RECORDED[number]["signature"]
    return {
        "round": number,
        "randomness": hashlib.sha256(bytes.fromhex(signature)).hexdigest(),
        "signature": signature,
    }


def signed_round(number: int) -> dict[str, Any]:
    """A round of the test chain as a relay answers it."""
    signature = sign(number)
    return {
        "round": number,
        "randomness": hashlib.sha256(signature).hexdigest(),
        "signature": signature.hex(),
    }


# A point of the curve outside the prime-order subgroup (x = 4: y^2 = 4^3 + 4 has a root),
# compressed: the kind of "signature" a forger would try.
OUTSIDE_SUBGROUP = bytes.fromhex("80" + "00" * 46 + "04")


class Relay:
    """A drand relay on 127.0.0.1 serving ``rounds(number) -> answer | None``."""

    def __init__(
        self,
        chain: Chain,
        rounds: Callable[[int], dict[str, Any] | None],
        mode: str = "ok",
    ) -> None:
        self.chain, self.rounds, self.mode = chain, rounds, mode
        self.asked: list[int] = []
        self.delay = 0.0
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's name)
                relay._answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        prefix = f"/{self.chain.chain_hash}/public/"
        if not request.path.startswith(prefix) or not request.path[len(prefix) :].isdigit():
            return self._send(request, 404, b"not found")
        number = int(request.path[len(prefix) :])
        self.asked.append(number)
        if beacon.round_time(self.chain, number) > datetime.now(UTC):
            return self._send(request, 404, b"requested future beacon")
        if self.mode == "slow":
            time.sleep(self.delay or 5)
        if self.mode == "drip":  # an answer that never ends: a byte every 0.3 s
            try:
                request.send_response(200)
                request.send_header("Content-Length", "100000")
                request.end_headers()
                for _ in range(40):
                    request.wfile.write(b" ")
                    request.wfile.flush()
                    time.sleep(0.3)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if self.mode == "missing":
            return self._send(request, 404, b"round not found")
        if self.mode == "garbage":
            return self._send(request, 200, b"<html>502 bad gateway</html>")
        answer = self.rounds(number + 1 if self.mode == "other_round" else number)
        if answer is None:
            return self._send(request, 404, b"round not found")
        answer = dict(answer)
        if self.mode == "other_round":
            answer["round"] = number  # a valid signature, of the next round
        if self.mode == "flipped":
            signature = bytearray(bytes.fromhex(answer["signature"]))
            signature[20] ^= 0x01
            answer["signature"] = signature.hex()
            answer["randomness"] = hashlib.sha256(bytes(signature)).hexdigest()
        if self.mode == "outside_subgroup":
            answer["signature"] = OUTSIDE_SUBGROUP.hex()
            answer["randomness"] = hashlib.sha256(OUTSIDE_SUBGROUP).hexdigest()
        if self.mode == "no_randomness":
            answer["randomness"] = "00" * 32
        self._send(request, 200, json.dumps(answer).encode())

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (mode "slow")
