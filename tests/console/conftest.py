"""The console's app over the live ``system`` (tests/conftest.py), through its own client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from console import create_app
from supervision.system import Gate, System
from tests.support.forms import TOKEN


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, signed out, its token ``tests.support.forms.TOKEN``."""
    transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
        yield c
