"""The quality report as HTML: charts drawn on the server as inline SVG, no script, no network.

`render_report` writes the one self-contained file of `triagebot report`; `report_sections` gives the
same sections for the web app's quality page, which wraps them in its own layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from triagebot.core.quality import QualityReport
from triagebot.web import charts

STYLE = """
body { font: 14px/1.45 system-ui, "IPAGothic", sans-serif; margin: 1.5rem auto; max-width: 72rem;
  color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { padding: .2rem .6rem; text-align: left;
  border-bottom: 1px solid #eee; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
svg.chart { max-width: 100%; height: auto; font-size: 12px; } svg .small { font-size: 10px; }
.hint { color: #555; } dl.figures { display: grid; grid-template-columns: max-content max-content;
  gap: .2rem 1rem; } dl.figures dd { margin: 0; font-weight: 600; }
"""


@dataclass(frozen=True, slots=True)
class Charts:
    """Every chart of the report, as SVG markup (None where there is nothing to draw)."""

    f1: Markup
    confusion: Markup
    curve: Markup
    reliability: Markup
    decisions: Markup | None
    gaps: Markup | None


def draw(report: QualityReport) -> Charts:
    """Draw the report's charts."""
    evaluation = report.evaluation
    chosen = report.chosen
    decisions = report.decisions
    return Charts(
        f1=charts.bars(
            "F1 per tip",
            [(tip.tip, tip.f1, f"{tip.f1:.2f}") for tip in evaluation.per_tip],
            maximum=1.0,
        ),
        confusion=charts.matrix(
            "Confusion matrix",
            report.confusion.labels,
            report.confusion.counts,
            axis="rows: the right tip (first label); columns: the suggested top tip",
        ),
        curve=charts.curve(
            "Precision against coverage",
            [(p.coverage, p.precision) for p in report.curve],
            mark=(chosen.coverage, chosen.precision, f"threshold {chosen.threshold:.2f}"),
            x_label="coverage (in-scope questions given a tip)",
            y_label="precision",
        ),
        reliability=charts.reliability(
            "Reliability diagram",
            [(p.mean_score, p.precision, p.count) for p in report.reliability],
            x_label="score of the top suggestion",
            y_label="observed precision",
        ),
        decisions=charts.lines(
            "Moderators' decisions per week",
            [d.week for d in decisions],
            [(part, [d.share(part) for d in decisions]) for part in ("approved", "edited", "rejected")],
        )
        if decisions
        else None,
        gaps=charts.bars(
            "Coverage gaps: questions per cluster",
            [
                (f"#{c.rank} {' '.join(c.terms[:3])}", float(c.size), str(c.size))
                for c in report.gaps.clusters
            ],
        )
        if report.gaps.clusters
        else None,
    )


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("triagebot.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def report_sections(report: QualityReport) -> Markup:
    """The report's sections (figures, tables, charts) as HTML to place inside a page."""
    template = _environment().get_template("_quality.html")
    return Markup(template.render(report=report, charts=draw(report)))


def render_report(report: QualityReport, *, generated: str) -> str:
    """The whole report as one HTML document with its style inline and nothing to fetch."""
    template = _environment().get_template("report.html")
    return template.render(
        report=report, sections=report_sections(report), style=Markup(STYLE), generated=generated
    )
