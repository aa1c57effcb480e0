"""The maps `audit verify` keeps its expectations in: a few items in memory, the rest on
a private temporary file, and nothing lost or reordered on the way."""

from __future__ import annotations

import stat
import tracemalloc
from datetime import date
from pathlib import Path

from screening.core.replay import by_seq
from screening.services.plumbing.spill import SpillFile


def test_items_survive_leaving_memory_and_come_back_in_order() -> None:
    with SpillFile(capacity=4) as spill:
        screenings = spill.map(by_seq)
        for seq in range(100, 0, -1):
            screenings[(seq, f"uid-{seq % 7}")] = {"status": "pending", "seq": seq}
        # Changed after leaving memory, and stored again as the replay does.
        state = screenings.get((3, "uid-3"))
        state["status"] = "collected"
        screenings[(3, "uid-3")] = state
        for seq in range(200, 300):
            screenings[(seq, "later")] = {"status": "pending", "seq": seq}
        assert screenings.get((3, "uid-3"))["status"] == "collected"
        assert (50, "uid-1") in screenings and (50, "uid-2") not in screenings
        assert screenings.pop((50, "uid-1"))["seq"] == 50
        assert (50, "uid-1") not in screenings and len(screenings) == 199
        keys = [key for key, _ in screenings.ordered()]
    assert keys == sorted(keys) and keys[0] == (1, "uid-1") and len(keys) == 199


def test_keys_of_dates_and_sites_find_their_value_again() -> None:
    with SpillFile(capacity=2) as spill:
        revealed = spill.map(lambda key, value: (0, ""))
        for day in range(1, 29):
            revealed[("main", date(2028, 2, day))] = bytes([day])
        assert revealed.get(("main", date(2028, 2, 1))) == b"\x01"
        assert revealed.get(("east", date(2028, 2, 1))) is None


def test_the_spill_file_is_private_and_removed_afterwards() -> None:
    spill = SpillFile(capacity=2)
    folder = Path(spill._directory.name)
    clients = spill.map(lambda uid, known: (known[0], uid))
    for n in range(10):
        clients[f"uid-{n}"] = (n, "main", {"phase": "1"})
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    spill.close()
    assert not folder.exists()


def test_the_draws_of_a_large_pool_do_not_pile_up_in_memory() -> None:
    """A draw's state holds every uid its draw selected (3,000 a day in a pool of 20,000):
    the replay keeps only the latest few in memory, the rest on the file, and each
    comes back whole (a day's reveal reads its draw again, an amendment may read any)."""
    from datetime import UTC, datetime, timedelta

    from screening.core.replay import DrawState, Replay

    def draw(number: int) -> DrawState:
        selected = {f"{number:04d}{uid:028x}": "random" for uid in range(2_000)}
        return DrawState(number, number, False, selected, datetime(2028, 1, 1, tzinfo=UTC), None)

    with SpillFile(capacity=1_000) as spill:  # the program's (the tests' is smaller)
        replay = Replay(spill.map)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for number in range(1, 121):
                replay.draws[("main", date(2028, 1, 1) + timedelta(days=number))] = draw(number)
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        # 120 such states take about 25 MiB; the few kept in memory, a small part of it.
        assert held < 8 * 2**20, f"{held / 2**20:.1f} MiB held by 120 draws"
        first = replay.draws.get(("main", date(2028, 1, 2)))
        assert first.created_seq == 1 and len(first.selected) == 2_000
