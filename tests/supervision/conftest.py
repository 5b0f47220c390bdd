"""The supervisor's tests drive children by hand: ``workers`` builds them and records
every start and stop."""

from __future__ import annotations

import pytest

from tests.support.children import Workers


@pytest.fixture
def workers() -> Workers:
    """Child specs whose starts and stops are recorded, in order."""
    return Workers()
