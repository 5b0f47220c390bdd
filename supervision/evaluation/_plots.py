"""The report's plots, drawn with matplotlib and embedded as PNG data URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from supervision.evaluation._result import Evaluation, RuleRates

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

BASELINE_COLOUR = "#4C72B0"
CANDIDATE_COLOUR = "#DD8452"


def plots(result: Evaluation) -> dict[str, str]:
    """Name to PNG data URI, for each plot the result has figures for."""
    drawn: dict[str, str] = {}
    if result.transitions:
        drawn["transitions"] = _transitions(result)
    if any(row for row in result.fit_confusion if any(row)):
        drawn["fit"] = _fit(result)
    failing = [
        r for r in result.rules if r.candidate.failures or (r.baseline and r.baseline.failures)
    ]
    if failing:
        drawn["rules"] = _rules(failing, golden=result.kind == "golden")
    if any(u.recorded and u.calls for u in result.usage.values()):
        drawn["usage"] = _usage(result)
    return drawn


def _figure(width: float, height: float) -> Figure:
    # Imported here: matplotlib takes a second, and only a report draws.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _heatmap(
    axes: Axes, matrix: Sequence[Sequence[int]], rows: Sequence[str], columns: Sequence[str]
) -> None:
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(columns)), columns, rotation=30, ha="right")
    axes.set_yticks(range(len(rows)), rows)
    peak = max((v for row in matrix for v in row), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            colour = "white" if peak and value > peak / 2 else "black"
            axes.text(j, i, str(value), ha="center", va="center", color=colour)


def _transitions(result: Evaluation) -> str:
    rows = sorted(result.transitions)
    columns = sorted({c for row in result.transitions.values() for c in row})
    matrix = [[result.transitions[r].get(c, 0) for c in columns] for r in rows]
    figure = _figure(5.5, 4)
    axes = figure.subplots()
    _heatmap(axes, matrix, rows, columns)
    side = "expected" if result.kind == "golden" else "baseline"
    axes.set_ylabel(f"{side} outcome")
    axes.set_xlabel("candidate outcome")
    axes.set_title("Outcome transitions (leads)")
    return _uri(figure)


def _fit(result: Evaluation) -> str:
    figure = _figure(5, 4)
    axes = figure.subplots()
    _heatmap(axes, result.fit_confusion, result.fit_labels, result.fit_labels)
    side = "expected" if result.kind == "golden" else "baseline"
    axes.set_ylabel(f"{side} fit")
    axes.set_xlabel("candidate fit")
    kappa = "–" if result.kappa is None else f"{result.kappa:.2f}"
    axes.set_title(f"Fit bands (Cohen's kappa {kappa})")
    return _uri(figure)


def _rules(rules: Sequence[RuleRates], *, golden: bool) -> str:
    figure = _figure(7.5, 1.2 + 0.45 * len(rules))
    axes = figure.subplots()
    ys = list(range(len(rules)))
    sides: list[tuple[str, float, str, Callable[[RuleRates], Any]]] = [
        ("candidate", 0.0 if golden else -0.2, CANDIDATE_COLOUR, lambda r: r.candidate)
    ]
    if not golden:
        sides.insert(0, ("baseline", 0.2, BASELINE_COLOUR, lambda r: r.baseline))
    for label, offset, colour, rate_of in sides:
        rates = [rate_of(r) for r in rules]
        values = [(rate.rate or 0.0) for rate in rates]
        errors = [
            [max(0.0, v - rate.low) for v, rate in zip(values, rates, strict=True)],
            [max(0.0, rate.high - v) for v, rate in zip(values, rates, strict=True)],
        ]
        axes.barh(
            [y + offset for y in ys],
            values,
            0.38,
            xerr=errors,
            color=colour,
            label=label,
            capsize=3,
        )
    axes.set_yticks(ys, [r.rule for r in rules])
    axes.invert_yaxis()
    axes.set_xlabel("failure rate per output checked (95% Wilson interval)")
    axes.legend(loc="lower right")
    axes.grid(axis="x", alpha=0.3)
    return _uri(figure)


def _usage(result: Evaluation) -> str:
    figure = _figure(8, 3.5)
    tokens_axes, latency_axes = figure.subplots(1, 2)
    names = [name for name in ("baseline", "candidate") if name in result.usage]
    stages = [s.stage for s in result.usage[names[-1]].stages]
    width = 0.8 / len(names)
    for index, name in enumerate(names):
        spent = result.usage[name]
        colour = BASELINE_COLOUR if name == "baseline" else CANDIDATE_COLOUR
        xs = [i + (index - (len(names) - 1) / 2) * width for i in range(len(stages))]
        leads = max(1, result.measured)
        tokens_axes.bar(
            xs, [s.tokens / leads for s in spent.stages], width, color=colour, label=name
        )
        latency_axes.bar(
            xs, [s.latency_p50_s or 0.0 for s in spent.stages], width, color=colour, label=name
        )
    for axes, title in ((tokens_axes, "tokens per lead"), (latency_axes, "latency p50 (s)")):
        axes.set_xticks(range(len(stages)), stages)
        axes.set_title(title)
        axes.legend()
        axes.grid(axis="y", alpha=0.3)
    return _uri(figure)
