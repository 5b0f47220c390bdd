"""The stores of a run directory, for tests of the parts the live system is made of."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from supervision.system import Stores


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    """Every store of a run directory on ``tmp_path``, journal included, closed at the end."""
    opened = Stores.open(tmp_path)
    yield opened
    opened.close()
