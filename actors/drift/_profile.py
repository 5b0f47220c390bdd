"""A profile: bounded samples of named columns, saved as ``profile.json``."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, final

from messages import UsageError

Role = Literal["input", "output"]
ColumnType = Literal["numeric", "categorical"]

PROFILE_FILE = "profile.json"
FORMAT_VERSION = 1
MAX_ROWS = 5000
OTHER = "(other)"
"""Where a categorical column counts values once it has ``max_rows`` distinct ones."""


@final
@dataclass(slots=True)
class Column:
    """One column: every value counted, and a bounded sample of the numeric ones.

    A categorical column keeps exact counts per category. A numeric column keeps a
    uniform reservoir sample of at most ``max_rows`` values, and ``rows`` counts them all.
    """

    name: str
    role: Role
    type: ColumnType
    rows: int = 0
    values: list[float] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


@final
class Profile:
    """Named columns, each numeric or categorical, each an input or an output.

    Memory stays bounded: a numeric column samples at most ``max_rows`` values by
    reservoir sampling with an RNG seeded by ``seed``, so a profile is reproducible.
    """

    def __init__(self, *, max_rows: int = MAX_ROWS, seed: int = 0) -> None:
        if max_rows < 1:
            raise UsageError(f"max_rows={max_rows!r} must be >= 1")
        self.max_rows = max_rows
        self.seed = seed
        self.columns: dict[str, Column] = {}
        self._rng = random.Random(seed)

    def add_numeric(self, name: str, value: float, *, role: Role) -> None:
        """Count ``value`` in the numeric column ``name``, creating it on first use."""
        if not math.isfinite(value):
            raise UsageError(f"value={value!r} of column {name!r} must be a finite number")
        column = self._column(name, role, "numeric")
        column.rows += 1
        if len(column.values) < self.max_rows:
            column.values.append(float(value))
            return
        slot = self._rng.randrange(column.rows)
        if slot < self.max_rows:
            column.values[slot] = float(value)

    def add_category(self, name: str, value: str, *, role: Role) -> None:
        """Count ``value`` in the categorical column ``name``, creating it on first use."""
        column = self._column(name, role, "categorical")
        column.rows += 1
        if value in column.counts or len(column.counts) < self.max_rows:
            column.counts[value] += 1
        else:
            column.counts[OTHER] += 1

    def copy(self) -> Profile:
        """An independent snapshot, to save or compare while this one keeps counting."""
        return Profile.from_dict(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "max_rows": self.max_rows,
            "seed": self.seed,
            "columns": [
                {"name": c.name, "role": c.role, "type": c.type, "rows": c.rows}
                | ({"values": list(c.values)} if c.type == "numeric" else {})
                | ({"counts": dict(c.counts)} if c.type == "categorical" else {})
                for c in self.columns.values()
            ],
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Profile:
        """Rebuild a profile from ``to_dict`` output; raises ``KeyError``/``ValueError``."""
        if data["version"] != FORMAT_VERSION:
            raise ValueError(f"format version {data['version']!r}, expected {FORMAT_VERSION}")
        profile = Profile(max_rows=int(data["max_rows"]), seed=int(data["seed"]))
        for item in data["columns"]:
            column = profile._column(str(item["name"]), item["role"], item["type"])
            column.rows = int(item["rows"])
            if column.type == "numeric":
                column.values = [float(v) for v in item["values"]]
            else:
                column.counts = Counter({str(k): int(v) for k, v in item["counts"].items()})
        return profile

    def save(self, path: Path) -> Path:
        """Write the profile as JSON to ``path``, a file, through a temporary file."""
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        temporary.replace(path)
        return path

    @staticmethod
    def load(path: Path) -> Profile:
        """Load a profile file, or the ``profile.json`` of a run directory.

        A path that holds no readable profile raises ``UsageError`` naming it and the fix.
        """
        file = path / PROFILE_FILE if path.is_dir() else path
        if not path.exists():
            raise UsageError(
                f"Baseline {str(path)!r} does not exist; pass a run directory or its {PROFILE_FILE}"
            )
        if not file.is_file():
            raise UsageError(
                f"Baseline {str(path)!r} holds no {PROFILE_FILE}; pass the directory of a "
                "finished run, or a profile file"
            )
        try:
            return Profile.from_dict(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, UsageError):
            raise UsageError(
                f"Baseline {str(file)!r} is not a drift profile; pass a {PROFILE_FILE} "
                "written by a run"
            ) from None

    def _column(self, name: str, role: Role, type_: ColumnType) -> Column:
        column = self.columns.get(name)
        if column is None:
            if role not in ("input", "output") or type_ not in ("numeric", "categorical"):
                raise ValueError(f"column {name!r}: role={role!r}, type={type_!r}")
            column = self.columns[name] = Column(name, role, type_)
        elif (column.role, column.type) != (role, type_):
            raise UsageError(
                f"Column {name!r} is {column.type} ({column.role}), not {type_} ({role}); "
                "give the new column another name"
            )
        return column
