"""`triagebot learn --report`: what the moderators' corrections would change."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from triagebot.cli import EXIT_USAGE, CliContext, cli, fail
from triagebot.errors import TriagebotError


@cli.command()
@click.option("--report", "show_report", is_flag=True, help="Print what the corrections would change.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--folds", type=click.IntRange(2, 10), default=3, show_default=True, help="Folds for 'after'.")
@click.option(
    "--review-weight",
    type=click.FloatRange(0, 100),
    default=None,
    help="Weight of one decision (default: [train] review_weight).",
)
@click.pass_obj
def learn(ctx: CliContext, show_report: bool, as_json: bool, folds: int, review_weight: float | None) -> None:
    """Show what learning from moderators' decisions (in --db) would change, per tip and overall.

    "before" scores the reviewed questions with a model of the knowledge base alone; "after" is
    out-of-fold, each question scored by a model that learnt from the other folds' decisions.
    Slow: it trains once, then once per fold. `triagebot train` does the learning itself.

    \b
    Example:
      triagebot --db sqlite:///var/triagebot.sqlite3 learn --report
      triagebot learn --report --json | jq .after.top1
    """
    from triagebot.core.learning import reviewed_examples
    from triagebot.core.learning_report import learning_report
    from triagebot.kbfiles import load_knowledge_base
    from triagebot.store import open_store
    from triagebot.store.learning import moderator_decisions

    if not show_report:
        fail("say what to do: `triagebot learn --report`", EXIT_USAGE)
    weight = ctx.settings.train.review_weight if review_weight is None else review_weight
    try:
        kb = load_knowledge_base(ctx.settings.paths.knowledge)
        with open_store(ctx.settings.database.url, read_only=True) as store:
            reviewed = reviewed_examples(moderator_decisions(store), kb.tip_ids)
        if not reviewed:
            fail("no moderator decisions to learn from yet (approve, relabel or reject drafts first)")
        report = learning_report(kb, reviewed, review_weight=weight, folds=folds)
    except TriagebotError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(asdict(report), ensure_ascii=False))
        return
    verdicts = ", ".join(f"{count} {name}" for name, count in sorted(report.verdicts.items()))
    click.echo(f"{report.reviewed} reviewed questions ({verdicts}); weight {report.review_weight:g}")
    click.echo(f"{'tip':<24} {'added':>5} {'recall before':>13} {'after':>6}")
    for tip in report.tips:
        click.echo(f"{tip.tip:<24} {tip.added:5d} {tip.recall_before:13.3f} {tip.recall_after:6.3f}")
    click.echo(f"on reviewed questions ({report.folds}-fold for after): before -> after")
    for name in ("top1", "top3", "precision", "abstention"):
        click.echo(f"  {name:<11} {getattr(report.before, name):.3f} -> {getattr(report.after, name):.3f}")
