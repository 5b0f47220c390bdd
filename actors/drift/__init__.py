"""Drift: profile a run's inputs and outputs, and compare the profile to a baseline.

``ProfileBuilder`` turns leads, approved outputs and verdicts into a ``Profile``; the
``DriftMonitor`` actor keeps one for the run and, on ``ProfileFlush``, saves it and
compares it to the baseline with ``compare``. ``write_report`` renders a ``DriftReport``
as markdown with a plot per drifted column.

The tests follow Evidently's defaults (see ``compare``); the dataset drifts when at least
``DRIFT_SHARE`` of the compared columns do.
"""

from actors.drift._builder import INPUT_COLUMNS, OUTPUT_COLUMNS, ProfileBuilder
from actors.drift._monitor import DriftMonitor
from actors.drift._profile import MAX_ROWS, PROFILE_FILE, Column, Profile
from actors.drift._report import REPORT_FILE, plot_title, write_report
from actors.drift._seniority import Seniority, title_seniority
from actors.drift._statistics import DRIFT_SHARE, DriftReport, compare, psi_band

__all__ = [
    "DRIFT_SHARE",
    "INPUT_COLUMNS",
    "MAX_ROWS",
    "OUTPUT_COLUMNS",
    "PROFILE_FILE",
    "REPORT_FILE",
    "Column",
    "DriftMonitor",
    "DriftReport",
    "Profile",
    "ProfileBuilder",
    "Seniority",
    "compare",
    "plot_title",
    "psi_band",
    "title_seniority",
    "write_report",
]
