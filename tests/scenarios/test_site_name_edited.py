"""Someone edits `[site] name` in the config: no new, empty site appears.

Days: Monday 2026-11-02. The clinic "main" enrols C-321 at 06:50. At 08:00 someone
changes `name = "main"` to `name = "north"` in screening.toml and lists the clients,
then tries to enrol one.

- Both commands are refused (exit 3): the message says site 'north' is not in this
  database, names the site it holds ('main'), and gives the command that starts a new
  site on purpose (`init --site north` with its own config).
- Nothing is written. With the name put back, the clinic carries on: C-321 is there,
  and `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_renamed_site_is_refused(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-321,Ada Example,morning,1,2026-11-02,")
    before = story.ledger_size()
    story.edit_config(lambda text: text.replace('name = "main"', 'name = "north"', 1))

    error = story.refused("2026-11-02 08:00", 3, "clients", "list")
    assert "site 'north'" in error and "which holds site 'main'" in error
    assert "init --site north" in error
    error = story.refused(
        "2026-11-02 08:01", 3, "clients", "add", "C-322", "--track", "morning", "--phase", "1"
    )
    assert "site 'north'" in error
    assert story.ledger_size() == before

    story.edit_config(lambda text: text.replace('name = "north"', 'name = "main"', 1))
    listed = story.json("2026-11-02 08:05", "clients", "list")
    assert [row["code"] for row in listed] == ["C-321"]
    assert "ledger intact" in story.verify("2026-11-02 08:10")
