"""Drift: what the drift monitor says when this run's profile moves away from a baseline."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from messages._base import Message

DriftTest = Literal["ks", "chisquare", "wasserstein", "jensenshannon"]
"""Evidently's names for the tests: K-S and chi-square up to 1000 reference rows,
normalised Wasserstein and Jensen-Shannon distance above."""

PsiBand = Literal["stable", "moderate", "significant"]
"""PSI below 0.1, below 0.2, and from 0.2 up."""


class DriftColumn(Message):
    """One profiled column compared against the baseline."""

    kind: Literal["drift_column"] = "drift_column"
    name: str = Field(min_length=1)
    """The column, such as ``industry`` or ``latency_s``."""
    role: Literal["input", "output"]
    """Whether the column describes the leads that came in or what the pipeline made of them.
    (``kind`` is taken by the discriminator; reports print this as ``kind``.)"""
    test: DriftTest
    """The test that decided ``drift``."""
    statistic: float
    """The test's statistic: K-S D, chi-square, or the distance."""
    p_value: float | None = Field(ge=0.0, le=1.0)
    """The p-value of K-S or chi-square; ``None`` for the distances, which have none."""
    threshold: float = Field(ge=0.0)
    """Drift when ``p_value < threshold`` (K-S, chi-square) or ``statistic >= threshold``."""
    psi: float = Field(ge=0.0)
    """The population stability index of current against reference."""
    psi_band: PsiBand
    """The PSI's band, reported beside the test and never deciding ``drift``."""
    drift: bool
    """Whether the test flagged this column."""


class DriftDetected(Message):
    """At least one column of this run's profile drifted from the baseline."""

    kind: Literal["drift_detected"] = "drift_detected"
    columns: tuple[DriftColumn, ...] = Field(min_length=1)
    """Only the columns that drifted, in the profile's order."""
    reference: str
    """What the profile was compared against: the baseline's path or name."""
    current: str
    """The profile that drifted: the path it was saved to."""


class ProfileFlush(Message):
    """A control message: save the run's profile now, and compare it to the baseline."""

    kind: Literal["profile_flush"] = "profile_flush"


class ProfileSaved(Message):
    """The drift monitor saved the profile; sent after ``DriftDetected``, if there was one."""

    kind: Literal["profile_saved"] = "profile_saved"
    path: str = Field(min_length=1)
    """Where the profile was written, normally ``<run dir>/profile.json``."""
    drift: bool
    """The dataset-level flag: at least half the compared columns drifted. ``False``
    without a baseline."""
    columns: int = Field(ge=0)
    """How many columns the saved profile holds."""
