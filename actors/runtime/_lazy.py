"""Heavy libraries imported on first use, so that a command that never needs them never waits.

``import openai`` takes about a second, scipy, matplotlib, numpy and httpx a few tenths
each; a run without the OpenAI backend, web research or a drift baseline uses none of them.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any, final


def lazy_module(name: str) -> ModuleType:
    """Module ``name`` if it is imported already, else a stand-in that imports it on first use."""
    module = sys.modules.get(name)
    return module if module is not None else _Deferred(name)


@final
class _Deferred(ModuleType):
    """Stands in for a module until one of its attributes is read, then imports it."""

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self.__name__), attribute)
        # Kept: a module's classes and functions do not change, and the next read is free.
        setattr(self, attribute, value)
        return value
