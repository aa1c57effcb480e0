"""The beacon in the benchmarks (issue 20): a chain of the bench's own, a relay serving
its rounds on 127.0.0.1, and `screening` run with that chain in quicknet's place.

The benchmarks reach no network and cannot sign quicknet's rounds, so, like the tests
(tests/beacon_chain.py), they use a chain whose secret key they hold: quicknet's genesis
and period, another key, signed with blst (a fraction of a millisecond a round). Every
round is checked by `select` and by `audit verify` exactly as a quicknet round is.

    python bench/beacon.py screening ARG ...    # `screening ARG ...` with the bench chain

bench/generate.py --beacon draws its clinic's days with it; bench/run.py's figure
`beacon` times `audit verify` of such a year against the same year drawn without it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# A fixed scalar: the same rounds in every run.
SECRET = 0xBE1C_4_0000_2024


def chain() -> Any:
    import pyblst  # type: ignore[import-untyped]

    from screening.core import beacon

    generator = pyblst.BlstP2Element.uncompress(beacon._G2_GENERATOR)
    return beacon.Chain(
        kind="drand-quicknet",
        chain_hash=hashlib.sha256(b"screening bench chain").hexdigest(),
        public_key=generator.scalar_mul(SECRET).compress(),
        genesis=beacon.QUICKNET.genesis,
        period=beacon.QUICKNET.period,
    )


def install() -> Any:
    """The bench chain in quicknet's place, in this process (core/beacon.py's CHAINS,
    the way the tests put theirs)."""
    from screening.core import beacon

    made = chain()
    beacon.CHAINS[made.kind] = made
    return made


def signed(number: int) -> dict[str, Any]:
    import pyblst

    from screening.core import beacon

    point = pyblst.BlstP1Element.hash_to_group(beacon.message(number), beacon.DST)
    signature = point.scalar_mul(SECRET).compress()
    return {
        "round": number,
        "randomness": hashlib.sha256(signature).hexdigest(),
        "signature": signature.hex(),
    }


class Relay:
    """``GET /{chain hash}/public/{round}`` as drand's HTTP API answers it, for any round
    (the generator's clock is simulated; `select` asks only for the day's round)."""

    def __init__(self, chain_hash: str) -> None:
        prefix = f"/{chain_hash}/public/"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's name)
                tail = self.path.removeprefix(prefix)
                found = self.path.startswith(prefix) and tail.isdigit()
                body = json.dumps(signed(int(tail))).encode() if found else b"not found"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def configure(config: Path, relay: Relay) -> None:
    """The config's [beacon] table: quicknet (here the bench chain) from ``relay``; a
    clinic generated further (--more) gets this run's relay."""
    text = config.read_text(encoding="utf-8")
    relays = f"relays = {json.dumps([relay.url])}"
    if "\nrelays = " in text:
        start = text.index("\nrelays = ") + 1
        text = text[:start] + relays + text[text.index("\n", start) :]
    else:
        assert '\nkind = "none"\n' in text, "the config has no [beacon] kind to set"
        text = text.replace('\nkind = "none"\n', f'\nkind = "drand-quicknet"\n{relays}\n', 1)
    config.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv[:1] != ["screening"]:
        print(__doc__, file=sys.stderr)
        return 2
    install()
    from screening.cli import app

    app(argv[1:], prog_name="screening")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
