"""`triagebot gaps` (themes of unanswered questions) and `triagebot report` (the quality report)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from triagebot.cli import EXIT_USAGE, CliContext, cli, fail
from triagebot.core.evaluate import Gold, Predicted
from triagebot.core.gaps import DISTANCE, MIN_SIZE, GapReport
from triagebot.core.models import InboundMessage
from triagebot.core.quality import QualityReport, WeeklyDecisions
from triagebot.errors import TriagebotError

DEFAULT_DATA = Path("dev/dev.jsonl")


def _gap_report(ctx: CliContext, *, distance: float, min_size: int, limit: int | None) -> GapReport:
    """Cluster the stored questions without a fitting tip (the database is only read)."""
    from triagebot.core.gaps import find_gaps
    from triagebot.store import open_store
    from triagebot.store.insights import gap_questions

    store = open_store(ctx.settings.database.url, read_only=True)
    try:
        questions = gap_questions(store)
    finally:
        store.close()
    return find_gaps(questions, distance=distance, min_size=min_size, limit=limit)


def _gaps_text(report: GapReport) -> str:
    lines = [
        f"{report.questions} questions without a fitting tip: {len(report.clusters)} clusters listed, "
        f"{report.unclustered} questions in no cluster"
    ]
    for c in report.clusters:
        weeks = " ".join(f"{week}:{count}" for week, count in c.weeks)
        rejected = f", {c.rejected} rejected by moderators" if c.rejected else ""
        lines.append(f"\n#{c.rank}  {c.size} questions{rejected}, {c.trend}  [{weeks}]")
        lines.append(f"    terms: {', '.join(c.terms) or '-'}")
        lines.extend(f"    - {subject}" for subject in c.examples)
    return "\n".join(lines)


def _check(distance: float, min_size: int, limit: int | None) -> None:
    if not 0 < distance <= 2:
        fail(f"--distance must be above 0 and at most 2, not {distance}", EXIT_USAGE)
    if min_size < 1:
        fail(f"--min-size must be at least 1, not {min_size}", EXIT_USAGE)
    if limit is not None and limit < 1:
        fail(f"--limit must be at least 1, not {limit}", EXIT_USAGE)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every cluster.")
@click.option("--limit", type=int, default=None, help="List at most this many clusters (largest first).")
@click.option(
    "--distance",
    type=float,
    default=DISTANCE,
    show_default=True,
    help="Cosine distance at which clusters stop merging (lower: more, tighter clusters).",
)
@click.option("--min-size", type=int, default=MIN_SIZE, show_default=True, help="Smallest cluster listed.")
@click.pass_obj
def gaps(ctx: CliContext, as_json: bool, limit: int | None, distance: float, min_size: int) -> None:
    """Group the stored questions the bot had no tip for into themes, largest first.

    Reads the questions the bot abstained on (or only asked for details) and those whose tip a
    moderator rejected as the wrong tip, in both languages, and clusters them. Each cluster shows its
    size, its questions per week and trend, the terms that set it apart, and three example subjects:
    the largest is the new tip that would help most.

    \b
    Example:
      triagebot gaps --limit 5
      triagebot gaps --json | jq '.clusters[0].terms'
    """
    _check(distance, min_size, limit)
    try:
        report = _gap_report(ctx, distance=distance, min_size=min_size, limit=limit)
    except TriagebotError as exc:
        fail(str(exc))
    if as_json:
        payload = {
            "questions": report.questions,
            "unclustered": report.unclustered,
            "clusters": [c.as_json() for c in report.clusters],
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        click.echo(_gaps_text(report))


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write.",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_DATA,
    show_default=True,
    help="Labelled JSONL file scored for the per-tip figures, the curves and the confusion matrix.",
)
@click.option(
    "--no-store", is_flag=True, help="Leave out the moderators' decisions and the gaps (no database read)."
)
@click.option("--limit", type=int, default=10, show_default=True, help="Gap clusters shown.")
@click.pass_obj
def report(ctx: CliContext, output: Path, data: Path, no_store: bool, limit: int) -> None:
    """Write the quality report: one self-contained HTML file with its charts drawn in (no network).

    It holds per-tip precision, recall and F1 and the confusion matrix on a labelled file, the
    precision–coverage curve with the threshold in use marked, a reliability diagram, moderators'
    approve / edit / reject shares per week and the coverage gaps from the database.

    \b
    Example:
      triagebot report -o report.html
      triagebot report -o /tmp/q.html --data dev/dev.jsonl --no-store
    """
    from triagebot.app import now_iso
    from triagebot.cli.eval_cmds import read_labelled
    from triagebot.web.quality import render_report

    _check(DISTANCE, MIN_SIZE, limit)
    if not data.is_file():
        fail(f"{data}: no such labelled file (--data FILE)", EXIT_USAGE)
    messages, golds = read_labelled(data)
    try:
        quality = _quality(ctx, data, messages, golds, no_store=no_store, limit=limit)
        html = render_report(quality, generated=now_iso())
        output.write_text(html, encoding="utf-8")
    except TriagebotError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{output}: cannot write ({exc.strerror or exc})")
    click.echo(
        f"wrote {output}: {quality.evaluation.items} labelled items, {len(quality.decisions)} weeks of "
        f"decisions, {len(quality.gaps.clusters)} gap clusters"
    )


def _quality(
    ctx: CliContext,
    data: Path,
    messages: list[InboundMessage],
    golds: list[Gold],
    *,
    no_store: bool,
    limit: int,
) -> QualityReport:
    """Score the labelled file with the engine and gather the store's decisions and gap clusters."""
    from triagebot.app import build_engine
    from triagebot.core.quality import build_report
    from triagebot.core.question import make_question

    engine = build_engine(ctx.settings, notify=lambda m: click.echo(f"triagebot: {m}", err=True))
    results = engine.triage_batch(messages)
    scored = engine.triager.classifier.score_many([make_question(m.subject, m.text) for m in messages])
    preds = [
        Predicted(tuple(t.tip_id for t in r.classification.tips), s.scores, {})
        for r, s in zip(results, scored, strict=True)
    ]
    decisions: tuple[WeeklyDecisions, ...] = ()
    gap_report = None
    if not no_store:
        from triagebot.store import open_store
        from triagebot.store.insights import decisions_by_week

        store = open_store(ctx.settings.database.url, read_only=True)
        try:
            decisions = decisions_by_week(store)
        finally:
            store.close()
        gap_report = _gap_report(ctx, distance=DISTANCE, min_size=MIN_SIZE, limit=limit)
    return build_report(
        str(data),
        golds,
        preds,
        engine.triager.classifier.threshold,
        decisions=decisions,
        gaps=gap_report,
    )
