"""The drift tests, after Evidently's defaults, and PSI; ``compare`` runs them per column.

Per column, by the number of rows the reference counted:

- up to 1000: two-sample K-S (numeric) or chi-square over the 2×k contingency table of
  the union of categories (categorical); drift when p < 0.05;
- above 1000: Wasserstein distance divided by the reference's standard deviation
  (numeric) or Jensen-Shannon distance in base 2 (categorical); drift when >= 0.1.

PSI is computed for every column and reported in bands; it never decides drift.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

from actors.drift._profile import Column, Profile
from actors.runtime import lazy_module
from messages._drift import DriftColumn, DriftTest, PsiBand

# Imported on first use (scipy.stats takes about a second): only a run with a drift
# baseline compares profiles. scipy ships no type hints, and the project has no stubs.
if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from scipy import spatial, stats  # type: ignore[import-untyped]
else:
    np = lazy_module("numpy")
    stats = lazy_module("scipy.stats")
    spatial = lazy_module("scipy.spatial")

SMALL_REFERENCE = 1000
P_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1
DRIFT_SHARE = 0.5
"""The dataset drifts when at least this share of the compared columns drifted."""
KS_FALLBACK = "ks_2samp: Exact calculation unsuccessful"
PSI_BINS = 10
PSI_EPSILON = 1e-4
MIN_STD = 0.001
"""Evidently's floor for the reference's standard deviation in normalised Wasserstein."""


@final
@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every compared column, and the dataset-level verdict.

    ``drift`` follows Evidently's dataset drift: at least ``DRIFT_SHARE`` (half) of the
    compared columns drifted. Each column's own flag is in ``columns``.
    """

    drift: bool
    columns: tuple[DriftColumn, ...]

    @property
    def drifted(self) -> tuple[DriftColumn, ...]:
        """The columns that drifted, in profile order."""
        return tuple(c for c in self.columns if c.drift)

    def to_json(self) -> str:
        """The report as one JSON document, for ``--json``."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data; a column's ``kind`` is its role, input or output."""
        return {
            "drift": self.drift,
            "columns": [
                {
                    "name": c.name,
                    "kind": c.role,
                    "test": c.test,
                    "statistic": c.statistic,
                    "p_value": c.p_value,
                    "drift": c.drift,
                    "psi": c.psi,
                    "psi_band": c.psi_band,
                }
                for c in self.columns
            ],
        }


def compare(reference: Profile, current: Profile) -> DriftReport:
    """Test every column the two profiles share; a column empty on either side is skipped."""
    columns: list[DriftColumn] = []
    for name, ref in reference.columns.items():
        cur = current.columns.get(name)
        if cur is None or cur.type != ref.type or not _has_data(ref) or not _has_data(cur):
            continue
        columns.append(compare_column(ref, cur))
    drifted = sum(c.drift for c in columns)
    return DriftReport(
        drift=bool(columns) and drifted >= DRIFT_SHARE * len(columns), columns=tuple(columns)
    )


def compare_column(ref: Column, cur: Column) -> DriftColumn:
    """Run the column's test, and its PSI."""
    small = ref.rows <= SMALL_REFERENCE
    test: DriftTest
    p_value: float | None = None
    if ref.type == "numeric":
        r, c = np.asarray(ref.values), np.asarray(cur.values)
        if small:
            test = "ks"
            statistic, p_value = _ks(r, c)
        else:
            test = "wasserstein"
            statistic = stats.wasserstein_distance(r, c) / max(float(np.std(r)), MIN_STD)
        psi = numeric_psi(r, c)
    else:
        categories = _categories(ref.counts, cur.counts)
        r = np.array([ref.counts[k] for k in categories], dtype=float)
        c = np.array([cur.counts[k] for k in categories], dtype=float)
        if small:
            test = "chisquare"
            statistic, p_value = _chi_square(r, c)
        else:
            test = "jensenshannon"
            statistic = float(spatial.distance.jensenshannon(r / r.sum(), c / c.sum(), base=2))
        psi = categorical_psi(ref.counts, cur.counts)
    if p_value is not None:
        threshold, drift = P_THRESHOLD, p_value < P_THRESHOLD
    else:
        threshold, drift = DISTANCE_THRESHOLD, statistic >= DISTANCE_THRESHOLD
    return DriftColumn(
        name=ref.name,
        role=ref.role,
        test=test,
        statistic=float(statistic),
        p_value=p_value,
        threshold=threshold,
        psi=psi,
        psi_band=psi_band(psi),
        drift=bool(drift),
    )


def numeric_psi(reference: NDArray[Any], current: NDArray[Any]) -> float:
    """PSI over bins closed on the right at the reference's deciles.

    Repeated deciles (many ties) merge their bins, so a discrete column gets fewer bins.
    """
    quantiles = np.linspace(0.0, 1.0, PSI_BINS + 1)[1:-1]
    edges = np.unique(np.quantile(reference, quantiles))
    ref_bins = np.bincount(np.searchsorted(edges, reference, side="left"), minlength=edges.size + 1)
    cur_bins = np.bincount(np.searchsorted(edges, current, side="left"), minlength=edges.size + 1)
    return _psi(ref_bins.astype(float), cur_bins.astype(float))


def categorical_psi(reference: Counter[str], current: Counter[str]) -> float:
    """PSI over the union of categories."""
    categories = _categories(reference, current)
    return _psi(
        np.array([reference[k] for k in categories], dtype=float),
        np.array([current[k] for k in categories], dtype=float),
    )


def psi_band(psi: float) -> PsiBand:
    """Below 0.1 stable, below 0.2 moderate, and significant from there."""
    if psi < 0.1:
        return "stable"
    return "moderate" if psi < 0.2 else "significant"


def _psi(reference: NDArray[Any], current: NDArray[Any]) -> float:
    # An empty bin on one side would make the log infinite: smooth both sides.
    r = np.maximum(reference / reference.sum(), PSI_EPSILON)
    c = np.maximum(current / current.sum(), PSI_EPSILON)
    return max(float(np.sum((c - r) * np.log(c / r))), 0.0)


def _ks(reference: NDArray[Any], current: NDArray[Any]) -> tuple[float, float]:
    # scipy's default, as Evidently's: an exact p-value, or the asymptotic one when the
    # exact computation fails, which scipy announces with a warning that is no fault here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", KS_FALLBACK, RuntimeWarning)
        result = stats.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def _chi_square(reference: NDArray[Any], current: NDArray[Any]) -> tuple[float, float]:
    if reference.size < 2:
        return 0.0, 1.0  # one category on both sides: nothing can have moved
    result = stats.chi2_contingency(np.vstack([reference, current]))
    return float(result.statistic), float(result.pvalue)


def _categories(reference: Counter[str], current: Counter[str]) -> list[str]:
    """The union of categories seen on either side; a loaded profile may hold zero counts."""
    return sorted(k for k in set(reference) | set(current) if reference[k] + current[k] > 0)


def _has_data(column: Column) -> bool:
    return bool(column.values) if column.type == "numeric" else column.counts.total() > 0
