"""The HTML report: one self-contained file (its style inline, its plots as data URIs),
that asks for nothing over the network and runs no script.

Its Content-Security-Policy allows images from data URIs and the one style block, by
hash: lead text, escaped by the template, could not load or run anything even if an
escape were missed. The console serves a report with the same policy.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from supervision.evaluation._plots import plots
from supervision.evaluation._result import Evaluation

REPORT_HTML = "report.html"
REPORT_JSON = "report.json"
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1180px;padding:1.5em;color:#1c2430}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #dde}
.line{font-size:1.15em;background:#f3f6fb;border-left:4px solid #4c72b0;padding:.6em .9em}
.partial{background:#fff4e0;border-left:4px solid #dd8452;padding:.4em .9em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #dde;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#f3f6fb}td.n{text-align:right;font-variant-numeric:tabular-nums}
.holds{color:#a11}.passes{color:#176}.up{color:#a11}.down{color:#176}
.changed{background:#fffbe8}.muted{color:#667}
img{max-width:100%;height:auto;border:1px solid #eef}
details{margin:.3em 0}summary{cursor:pointer}
.drafts{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.draft{white-space:pre-wrap;background:#fafbfc;border:1px solid #eef;padding:.5em;font-size:.9em}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
code{font-size:.9em}
"""
"""The report's whole style; the policy below allows exactly this text."""
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
REPORT_CSP = (
    f"default-src 'none'; img-src data:; style-src '{STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'"
)
"""What a report may load: its images from data URIs, and its own style block."""


@functools.cache
def _templates() -> Environment:
    """The report's Jinja environment, built once: it compiles the template once."""
    env = Environment(
        loader=PackageLoader("supervision.evaluation", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    env.filters["counted"] = _counted
    return env


def render(result: Evaluation) -> str:
    """The report of ``result`` as one HTML document."""
    env = _templates()
    # What needs a look first: leads that changed, or missed an expectation.
    leads = sorted(
        result.lead_results,
        key=lambda lead: (
            not lead.changed and all(check.passed for check in lead.checks),
            lead.candidate is None,
            lead.lead_id,
        ),
    )
    return env.get_template("report.html").render(
        r=result,
        leads=leads,
        plots=plots(result),
        style=Markup(STYLE),
        csp=REPORT_CSP,
        golden=result.kind == "golden",
    )


def write_report(result: Evaluation, directory: Path) -> Path:
    """Write ``report.json`` and ``report.html`` into ``directory``; the HTML's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / REPORT_JSON).write_text(result.model_dump_json(indent=1) + "\n", encoding="utf-8")
    path = directory / REPORT_HTML
    path.write_text(render(result), encoding="utf-8")
    return path


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _counted(rules: Sequence[str]) -> str:
    """Rule ids once each, with how many verdicts named them: ``draft.placeholder ×3``."""
    counts = Counter(rules)
    return ", ".join(f"{rule} ×{n}" if n > 1 else rule for rule, n in counts.items()) or "none"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"
