"""The statistics an evaluation reports: Wilson intervals, Cohen's kappa, quantiles, and
a word-level diff of two drafts."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, final

from actors.runtime import lazy_module

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from scipy import stats  # type: ignore[import-untyped]
else:
    np = lazy_module("numpy")
    stats = lazy_module("scipy.stats")

CONFIDENCE = 0.95
"""The confidence level of every interval reported."""
_WORDS = re.compile(r"\S+|\s+")

DiffOp = Literal["equal", "delete", "insert"]


@final
@dataclass(frozen=True, slots=True)
class Proportion:
    """``hits`` of ``n``, with its Wilson score interval at ``CONFIDENCE``."""

    hits: int
    n: int
    low: float
    high: float

    @property
    def rate(self) -> float | None:
        return self.hits / self.n if self.n else None

    @staticmethod
    def of(hits: int, n: int) -> Proportion:
        if n == 0:
            return Proportion(0, 0, 0.0, 1.0)
        interval = stats.binomtest(hits, n).proportion_ci(
            confidence_level=CONFIDENCE, method="wilson"
        )
        return Proportion(hits, n, float(interval.low), float(interval.high))


def cohen_kappa(pairs: Sequence[tuple[str, str]], labels: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels: 1 for full agreement, 0 for chance.

    None without pairs; 1.0 when both raters gave one and the same label throughout
    (agreement is total, though chance would predict it too).
    """
    if not pairs:
        return None
    matrix = confusion(pairs, labels)
    total = int(matrix.sum())
    observed = float(np.trace(matrix)) / total
    expected = float(matrix.sum(axis=0) @ matrix.sum(axis=1)) / (total * total)
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def confusion(pairs: Sequence[tuple[str, str]], labels: Sequence[str]) -> NDArray[Any]:
    """Counts of (row label, column label) pairs, rows and columns in ``labels``' order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for row, column in pairs:
        matrix[index[row], index[column]] += 1
    return matrix


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (linear interpolation), or None for no values."""
    if not values:
        return None
    return float(np.quantile(np.asarray(values, dtype=float), q))


def word_diff(before: str, after: str) -> list[tuple[DiffOp, str]]:
    """``before`` turned into ``after`` word by word: runs kept, deleted and inserted.

    Whitespace is kept as it was, so the runs joined give each text back exactly.
    """
    a, b = _WORDS.findall(before), _WORDS.findall(after)
    runs: list[tuple[DiffOp, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            runs.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("delete", "".join(a[i1:i2])))
        if j2 > j1:
            runs.append(("insert", "".join(b[j1:j2])))
    return runs
