"""The subpackages of ``actors`` import one another one way: the runtime at the bottom, the
agents at the top, and no arrow back down."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import actors
import actors.llm
from tests.support.paths import ROOT

ACTORS = ROOT / "actors"
FLOORS = (
    "runtime",
    "intake",
    "validation",
    "evidence",
    "llm",
    "webhooks",
    "drift",
    "stores",
    "agents",
)
"""From the bottom up: a subpackage may import only those before it."""


def imported_subpackages(path: Path) -> set[str]:
    """The subpackages of ``actors`` that ``path`` imports (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "actors" and len(parts) > 1:
                names.add(parts[1])
    return names


def test_every_subpackage_of_actors_has_a_floor() -> None:
    """A new subpackage is placed among the floors before it is used."""
    found = {p.name for p in ACTORS.iterdir() if (p / "__init__.py").is_file()}
    assert found == set(FLOORS)


def test_the_subpackages_of_actors_import_only_those_below_them() -> None:
    """The runtime imports no agent or store, the stores no agent: no cycle among them."""
    upward = [
        f"{path.relative_to(ACTORS)} imports actors.{name}"
        for floor, package in enumerate(FLOORS)
        for path in sorted((ACTORS / package).rglob("*.py"))
        for name in imported_subpackages(path)
        if name in FLOORS and FLOORS.index(name) > floor
    ]
    assert upward == []


def test_the_architecture_lists_the_subpackages_of_actors_in_their_order() -> None:
    """docs/architecture.md has a row for each subpackage, from the bottom floor up."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = page.split("\n## The packages of `actors`\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `actors/(\w+)/` \|", section, flags=re.MULTILINE)
    assert rows == list(FLOORS)


def test_the_modules_of_actors_live_in_its_subpackages() -> None:
    """``actors`` itself holds only its curated ``__init__``: every module has a subpackage."""
    assert sorted(p.name for p in ACTORS.glob("*.py")) == ["__init__.py"]


def test_actors_exports_what_it_lists() -> None:
    """Every name in ``actors.__all__`` is importable from ``actors``."""
    assert [name for name in actors.__all__ if not hasattr(actors, name)] == []


def test_renamed_names_stay_importable_under_their_earlier_names() -> None:
    """A name that misled was renamed; its earlier name is the same object still."""
    assert actors.Claim is actors.SubmissionClaim
    assert actors.llm.BreakerStatistics is actors.llm.ProviderBreakerStatistics
    assert actors.llm.OFFLINE == actors.llm.OFFLINE_NO_COST == "offline: no cost"
