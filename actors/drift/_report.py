"""The drift report: a markdown table of every column, and a PNG per drifted column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from actors.drift._profile import Column, Profile
from actors.drift._statistics import DriftReport
from actors.runtime import lazy_module
from messages._drift import DriftColumn

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")  # a few tenths of a second, for a report most runs never draw

REPORT_FILE = "drift_report.md"
REFERENCE_COLOUR = "#4C72B0"
CURRENT_COLOUR = "#DD8452"
AXIS_LABELS = {"employees": "employees (log10 of headcount)", "latency_s": "latency (s)"}
TEST_LABELS = {
    "ks": "K-S",
    "chisquare": "chi-square",
    "wasserstein": "Wasserstein (normed)",
    "jensenshannon": "Jensen-Shannon",
}


def write_report(
    report: DriftReport, reference: Profile, current: Profile, directory: Path
) -> Path:
    """Write ``drift_report.md`` and a plot per drifted column into ``directory``.

    The table lists every compared column, drifted ones first; each drifted column links
    to its plot, reference against current. Returns the markdown file's path.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ordered = sorted(report.columns, key=lambda c: (not c.drift, -c.psi))
    verdict = "**Drift detected**" if report.drift else "No dataset drift"
    lines = [
        "# Drift report",
        "",
        f"{verdict}: {len(report.drifted)} of {len(report.columns)} columns drifted "
        "(the dataset drifts when at least half do).",
        "",
        "| column | kind | test | statistic | p-value | PSI | PSI band | drift | plot |",
        "|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for column in ordered:
        plot = ""
        if column.drift:
            png = directory / f"drift_{_slug(column.name)}.png"
            _plot(column, reference.columns[column.name], current.columns[column.name], png)
            plot = f"[plot]({png.name})"
        p_value = "–" if column.p_value is None else f"{column.p_value:.3g}"
        lines.append(
            f"| {column.name} | {column.role} | {TEST_LABELS[column.test]} "
            f"| {column.statistic:.3g} | {p_value} | {column.psi:.3f} | {column.psi_band} "
            f"| {'**yes**' if column.drift else 'no'} | {plot} |"
        )
    for column in ordered:
        if column.drift:
            lines += [
                "",
                f"## {column.name}",
                "",
                f"![{column.name}](drift_{_slug(column.name)}.png)",
            ]
    path = directory / REPORT_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plot_title(column: DriftColumn) -> str:
    """Such as ``industry: reference vs current (drift: K-S p=0.001)``."""
    if column.p_value is not None:
        measure = f"{TEST_LABELS[column.test]} p={column.p_value:.3g}"
    else:
        measure = f"{TEST_LABELS[column.test]}={column.statistic:.3g}"
    verdict = "drift" if column.drift else "no drift"
    return f"{column.name}: reference vs current ({verdict}: {measure})"


def _plot(column: DriftColumn, ref: Column, cur: Column, path: Path) -> None:
    # Imported here, on first use: matplotlib takes a second, and most runs draw nothing.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A bare Figure on the Agg canvas: no pyplot, so no global backend switch and no
    # figure registry to leak from.
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    if ref.type == "numeric":
        edges = np.histogram_bin_edges(np.concatenate([ref.values, cur.values]), bins=30)
        bins: list[float] = edges.tolist()
        for values, label, colour in (
            (ref.values, "reference", REFERENCE_COLOUR),
            (cur.values, "current", CURRENT_COLOUR),
        ):
            label = f"{label} (n={len(values)})"
            axes.hist(values, bins=bins, density=True, alpha=0.55, color=colour, label=label)
        axes.set_xlabel(AXIS_LABELS.get(column.name, column.name))
        axes.set_ylabel("density")
    else:
        ref_total, cur_total = ref.counts.total(), cur.counts.total()
        categories = sorted(
            set(ref.counts) | set(cur.counts),
            key=lambda k: (-(ref.counts[k] / ref_total + cur.counts[k] / cur_total), k),
        )
        x = np.arange(len(categories))
        for offset, counts, total, label, colour in (
            (-0.2, ref.counts, ref_total, "reference", REFERENCE_COLOUR),
            (0.2, cur.counts, cur_total, "current", CURRENT_COLOUR),
        ):
            shares = [counts[k] / total for k in categories]
            axes.bar(x + offset, shares, 0.4, color=colour, label=f"{label} (n={total})")
        crowded = len(categories) > 6
        labels = [k or "(empty)" for k in categories]
        rotation, align = (30, "right") if crowded else (0, "center")
        axes.set_xticks(x, labels, rotation=rotation, ha=align)
        axes.set_ylabel("share of rows")
    axes.set_title(plot_title(column))
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "column"
