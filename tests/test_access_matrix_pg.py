"""The permissions matrix on PostgreSQL, as four real database logins (the test itself
is tests/test_access_matrix.py's; this file lets xdist run it beside SQLite's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import test_access_matrix as matrix


@pytest.fixture
def clinic() -> Iterator[matrix.Clinic]:
    yield from matrix.postgresql_clinic()


def test_every_command_as_every_login(clinic: matrix.Clinic) -> None:
    matrix.test_every_command_as_every_role(clinic)
