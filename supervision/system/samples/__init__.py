"""The sample leads, ideal customer profile and knowledge base, shipped as package data.

``examples/`` in the repository links to these files, so an installed ``leadwright`` (not
only a checkout) runs its samples: ``path("leads.csv")`` finds them through
``importlib.resources`` wherever the package was installed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from messages import UsageError

SAMPLES = ("leads.csv", "icp.toml", "companies.json")


def path(name: str) -> Path:
    """The installed sample file ``name``, one of ``SAMPLES``."""
    if name not in SAMPLES:
        raise UsageError(f"name={name!r} is not a sample; pick one of {', '.join(SAMPLES)}")
    return Path(str(files(__package__) / name))


__all__ = ["SAMPLES", "path"]
