"""`triagebot eval` (measured quality on a labelled file) and `triagebot kb validate`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import yaml

from triagebot.cli import EXIT_USAGE, CliContext, cli, fail
from triagebot.core.evaluate import Gold, Predicted, Report, evaluate
from triagebot.core.models import Channel, InboundMessage
from triagebot.core.question import make_question
from triagebot.core.text import clean_body
from triagebot.errors import KnowledgeBaseError, Problem, TriagebotError

SELF_TEST_MIN = 0.9


def read_labelled(path: Path) -> tuple[list[InboundMessage], list[Gold]]:
    """Read a labelled JSONL file; a malformed line is a usage error naming the line."""
    messages: list[InboundMessage] = []
    golds: list[Gold] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read ({exc})", EXIT_USAGE)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            subject, body = str(item.get("subject", "")), str(item["body"])
            labels = tuple(str(label) for label in item["labels"])
            details = dict(item.get("details") or {})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            fail(
                f"{path}:{number}: expected an object with subject, body, labels, details ({exc})", EXIT_USAGE
            )
        messages.append(
            InboundMessage(Channel.EMAIL, "eval", str(number), subject, clean_body(body), original=body)
        )
        golds.append(Gold(labels, details, str(item.get("id") or f"line {number}")))
    if not messages:
        fail(f"{path}: no labelled items", EXIT_USAGE)
    return messages, golds


def _report_text(report: Report) -> str:
    lines = [
        f"items {report.items}: {report.in_scope} in scope, {report.out_of_scope} out of scope;"
        f" threshold {report.threshold:.2f}",
        f"top-1 accuracy (in scope)        {report.top1:.3f}",
        f"top-3 accuracy (in scope)        {report.top3:.3f}",
        f"precision of the top suggestion  {report.top_precision:.3f}",
        f"coverage (in scope suggested)    {report.coverage:.3f}",
        f"abstention (out of scope)        {report.abstention:.3f}",
        "details (presence / value):",
    ]
    for name in report.detail_presence:
        lines.append(f"  {name:<11} {report.detail_presence[name]:.3f} / {report.detail_value[name]:.3f}")
    lines.append(f"  {'specifics':<11} {report.specifics:.3f}")
    lines.append(f"{'tip':<22} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}")
    for tip in report.per_tip:
        lines.append(f"{tip.tip:<22} {tip.precision:6.3f} {tip.recall:6.3f} {tip.f1:6.3f} {tip.support:4d}")
    lines.append("threshold sweep (top-1 / precision / abstention):")
    for row in report.sweep:
        lines.append(
            f"  {row['threshold']:.2f}  {row['top1']:.3f} / {row['precision']:.3f} / {row['abstention']:.3f}"
        )
    lines.append("reliability (top score bin: suggestions, observed precision):")
    for cell in report.reliability:
        lines.append(f"  [{cell.low:.1f}, {cell.high:.1f})  {cell.count:4d}  {cell.precision:.3f}")
    lines.append(f"worst mistakes ({len(report.mistakes)}; id, gold, got, score):")
    for mistake in report.mistakes:
        gold = ",".join(mistake.gold) or "[]"
        lines.append(f"  {mistake.id:<10} {gold:<36} {mistake.got:<22} {mistake.score:.3f}")
    return "\n".join(lines)


# (name, training options, classifier mode, what else is left out): each row retrains in memory
# without one part, or ranks without one of the checks that follow the scores
ABLATION: tuple[tuple[str, dict[str, Any], str, str], ...] = (
    ("both (all blocks, rules, applicability)", {}, "both", ""),
    ("rules only", {}, "rules", ""),
    ("model only", {"use_rules": False}, "model", ""),
    ("without chars block", {"blocks": ("words", "head", "logs")}, "both", ""),
    ("without words block", {"blocks": ("chars", "head", "logs")}, "both", ""),
    ("without head block", {"blocks": ("chars", "words", "logs")}, "both", ""),
    ("without logs block", {"blocks": ("chars", "words", "head")}, "both", ""),
    ("without class weights", {"class_weight": None}, "both", ""),
    ("without applicability", {}, "both", "applicability"),
    ("without rule exceptions (unless)", {}, "both", "unless"),
)


def ablation_rows(ctx: CliContext, messages: list[InboundMessage], golds: list[Gold]) -> list[dict[str, Any]]:
    """Retrain without each part in turn and score the labelled file: what each part earns.

    Every variant ranks as triage does, tips ruled out by the post's stated details left out
    (`Applicability`), except the variant without it.
    """
    from triagebot.core.applicability import Applicability
    from triagebot.core.classify import Classifier, SymptomRules
    from triagebot.core.details import DetailExtractor
    from triagebot.core.training import train_model
    from triagebot.kbfiles import load_knowledge_base

    knowledge = load_knowledge_base(ctx.settings.paths.knowledge)
    questions = [make_question(m.subject, m.text) for m in messages]
    extractor = DetailExtractor.from_kb(knowledge)
    reports = [
        extractor.extract(m.subject, m.text, (q.prose, q.log_lines))
        for m, q in zip(messages, questions, strict=True)
    ]
    scoped = [Applicability(knowledge).left_out(r) for r in reports]
    unscoped: list[Mapping[str, str]] = [{} for _ in reports]
    rows: list[dict[str, Any]] = []
    trained: dict[str, Any] = {}
    for name, options, mode, without in ABLATION:
        key = json.dumps(options, sort_keys=True)
        if key not in trained:
            trained[key] = train_model(knowledge, **options)
        rules = SymptomRules(knowledge, exceptions=without != "unless")
        classifier = Classifier(trained[key], rules, mode=mode)
        left_out = unscoped if without == "applicability" else scoped
        scored = classifier.score_many(questions)
        preds = [
            Predicted(tuple(t.tip_id for t in classifier.rank(s, out).tips), _applicable(s.scores, out), {})
            for s, out in zip(scored, left_out, strict=True)
        ]
        report = evaluate(golds, preds, classifier.threshold)
        rows.append(
            {
                "variant": name,
                "threshold": classifier.threshold,
                "top1": report.top1,
                "top3": report.top3,
                "precision": report.top_precision,
                "coverage": report.coverage,
                "abstention": report.abstention,
            }
        )
    return rows


def _ablation_text(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| variant | threshold | top-1 | top-3 | precision | coverage | abstention |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['threshold']:.2f} | {row['top1']:.3f} | {row['top3']:.3f} | "
            f"{row['precision']:.3f} | {row['coverage']:.3f} | {row['abstention']:.3f} |"
        )
    return "\n".join(lines)


@cli.command("eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--archive",
    is_flag=True,
    help="Instead, compare the bot's tips with the human answers in the stored threads (--db): which "
    "tips each answer applied (their commands, file names, error strings), agreement per tip and overall.",
)
@click.option(
    "--ablation",
    is_flag=True,
    help="Instead, retrain in memory without each part (rules, model, each feature block, class "
    "weights; applicability and rule exceptions without retraining) and print what each variant "
    "scores (slow: one training per variant).",
)
@click.pass_obj
def eval_command(ctx: CliContext, file: Path | None, as_json: bool, archive: bool, ablation: bool) -> None:
    """Score triage on a labelled JSONL file (subject, body, labels, details per line).

    \b
    Example:
      triagebot eval dev/dev.jsonl
      triagebot eval dev/dev.jsonl --json | jq .top1
      triagebot eval dev/dev.jsonl --ablation
      triagebot --db sqlite:///var/triagebot.sqlite3 eval --archive
    """
    from triagebot.app import build_engine

    if archive:
        if file is not None:
            fail("--archive reads the stored threads; give no FILE with it", EXIT_USAGE)
        _archive_agreement(ctx, as_json)
        return
    if file is None:
        fail("give a labelled FILE, or --archive", EXIT_USAGE)
    messages, golds = read_labelled(file)
    if ablation:
        try:
            rows = ablation_rows(ctx, messages, golds)
        except TriagebotError as exc:
            fail(str(exc))
        click.echo(json.dumps(rows) if as_json else _ablation_text(rows))
        return
    try:
        engine = build_engine(ctx.settings, notify=lambda m: click.echo(f"triagebot: {m}", err=True))
        results = engine.triage_batch(messages)
        questions = [make_question(m.subject, m.text) for m in messages]
        scored = engine.triager.classifier.score_many(questions)
    except TriagebotError as exc:
        fail(str(exc))
    scope = engine.triager.applicability
    preds = [
        Predicted(
            tips=tuple(t.tip_id for t in r.classification.tips),
            scores=_applicable(s.scores, scope.left_out(r.details)),
            details={
                "version": r.details.version,
                "os": r.details.os,
                "hypervisor": r.details.hypervisor,
                "specifics": r.details.specifics,
            },
        )
        for r, s in zip(results, scored, strict=True)
    ]
    report = evaluate(golds, preds, engine.triager.classifier.threshold)
    click.echo(json.dumps(asdict(report)) if as_json else _report_text(report))


def _applicable(scores: dict[str, float], left_out: Mapping[str, str]) -> dict[str, float]:
    """The scores triage ranked: a tip the post's details rule out counts as 0 (sweep, reliability)."""
    return {tip: 0.0 if tip in left_out else score for tip, score in scores.items()}


def _archive_agreement(ctx: CliContext, as_json: bool) -> None:
    """Print how often the bot's first tip is one the human answer applied, per tip and overall."""
    from triagebot.core.agreement import agreement
    from triagebot.kbfiles import load_knowledge_base
    from triagebot.store import open_store
    from triagebot.store.learning import answered_threads

    try:
        knowledge = load_knowledge_base(ctx.settings.paths.knowledge)
        with open_store(ctx.settings.database.url, read_only=True) as store:
            threads = answered_threads(store)
    except TriagebotError as exc:
        fail(str(exc))
    report = agreement(knowledge, threads)
    if as_json:
        data = asdict(report)
        data["agreement"] = report.agreement
        for row, tip in zip(data["tips"], report.tips, strict=True):
            row["agreement"] = tip.agreement
        click.echo(json.dumps(data))
        return
    click.echo(
        f"{report.threads} answered threads; {report.readable} answers apply a tip; the bot's first tip "
        f"agrees on {report.agreed} ({report.agreement:.3f}), it suggested nothing on {report.abstained}"
    )
    click.echo(f"{'tip':<22} {'applied':>7} {'bot top':>7} {'bot any':>7} {'agree':>6} {'bot elsewhere':>13}")
    for tip in report.tips:
        click.echo(
            f"{tip.tip:<22} {tip.applied:7d} {tip.bot_top:7d} {tip.bot_any:7d} {tip.agreement:6.3f} "
            f"{tip.bot_suggested_elsewhere:13d}"
        )


@cli.group()
def kb() -> None:
    """Work with the knowledge base.

    \b
    Example:
      triagebot kb validate
      triagebot --kb /tmp/my-knowledge kb validate --no-self-test
    """


@kb.command("validate")
@click.option(
    "--self-test/--no-self-test",
    default=True,
    show_default=True,
    help="Also train in memory and check each tip's own examples classify to it.",
)
@click.pass_obj
def validate(ctx: CliContext, self_test: bool) -> None:
    """Check the knowledge base: schema, ids, regexes, catalogs, templates, and a self-test.

    Problems are printed as FILE:LINE [FIELD]: MESSAGE; the exit code is 1 when there are any.

    \b
    Example:
      triagebot kb validate
    """
    from triagebot.app import read_templates
    from triagebot.kbfiles import load_knowledge_base, read_knowledge_files

    try:
        kb_dir = ctx.settings.paths.knowledge
        knowledge = load_knowledge_base(kb_dir)
        templates = read_templates(ctx.settings.paths.templates)
    except KnowledgeBaseError as exc:
        _print_problems(exc.problems)
    except TriagebotError as exc:
        fail(str(exc))
    problems = check_templates(knowledge, templates, ctx.settings.paths.templates)
    if problems:
        _print_problems(problems)
    click.echo(
        f"schema, ids, regexes and catalogs: ok ({len(knowledge.tips)} tips, "
        f"{sum(len(t.examples) for t in knowledge.tips)} examples, "
        f"{len(knowledge.out_of_scope)} out-of-scope, {len(knowledge.releases)} releases)"
    )
    click.echo("templates: every tip renders in en and ja for email, slack and discord")
    files = read_knowledge_files(kb_dir)
    _print_overlaps(knowledge, files)
    if self_test:
        problems = run_self_test(knowledge, files, kb_dir)
        if problems:
            _print_problems(problems)
    click.echo("knowledge base is valid")


def _print_overlaps(knowledge: Any, files: dict[str, str]) -> None:
    """Note tips whose examples read like another tip's, and rules that fire on out-of-scope examples
    (not problems: hints to merge, sharpen or narrow)."""
    from triagebot.core.kb_overlap import overlaps, rule_conflicts

    for overlap in overlaps(knowledge):
        click.echo(
            f"note: tips/{overlap.tip}.yaml: {overlap.count} examples ({overlap.share:.0%}) are closest to "
            f"tip {overlap.close}; is it the same problem, or can the examples tell them apart?"
        )
    conflicts = rule_conflicts(knowledge)
    counts = _out_of_scope_counts(files) if conflicts else []
    for conflict in conflicts:
        place = _out_of_scope_place(files, counts, conflict.first)
        click.echo(
            f"note: tips/{conflict.tip}.yaml: the rule {conflict.label!r} fires on {conflict.count} "
            f"out-of-scope example(s), first at {place}; narrow it with `unless`, or is the example in "
            "scope after all?"
        )


def _out_of_scope_counts(files: dict[str, str]) -> list[tuple[str, int]]:
    """Each out-of-scope file with its number of examples, in the order the knowledge base reads them."""
    from triagebot.core.kb import OUT_OF_SCOPE_DIR, OUT_OF_SCOPE_FILE

    names = [OUT_OF_SCOPE_FILE, *sorted(n for n in files if n.startswith(OUT_OF_SCOPE_DIR))]
    return [(n, len((yaml.safe_load(files.get(n, "")) or {}).get("examples") or [])) for n in names]


def _out_of_scope_place(files: dict[str, str], counts: list[tuple[str, int]], index: int) -> str:
    """`FILE:LINE` of out-of-scope example number `index`."""
    from triagebot.core.kb import line_of

    for name, count in counts:
        if index < count:
            return f"{name}:{line_of(files[name], ('examples', index))}"
        index -= count
    return "out_of_scope"


@kb.command("new")
@click.argument("tip_id")
@click.pass_obj
def new_tip(ctx: CliContext, tip_id: str) -> None:
    """Write a skeleton for a new tip to TIPS/<TIP_ID>.yaml: every field, both languages, commented.

    `kb validate` names the lines still to fill until every placeholder is replaced. An existing
    file is never overwritten.

    \b
    Example:
      triagebot kb new usage-server && $EDITOR knowledge/tips/usage-server.yaml && triagebot kb validate
    """
    from triagebot.core.kb_skeleton import skeleton

    try:
        text = skeleton(tip_id)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    tips_dir = ctx.settings.paths.knowledge / "tips"
    path = tips_dir / f"{tip_id}.yaml"
    if not tips_dir.is_dir():
        fail(f"{tips_dir}: no tips directory here (is --kb the knowledge base?)", EXIT_USAGE)
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        fail(f"{path} exists already; edit it, or choose another id", EXIT_USAGE)
    except OSError as exc:
        fail(f"{path}: cannot write ({exc.strerror})")
    click.echo(f"wrote {path}: replace every FILL-IN value, then run `triagebot kb validate`")


def _print_problems(problems: tuple[Problem, ...] | list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)
    fail(f"{len(problems)} problem(s) in the knowledge base")


def check_templates(knowledge: Any, templates: dict[str, str], directory: Path) -> list[Problem]:
    """Render every tip alone, in both languages and every channel, with and without details."""
    from jinja2 import TemplateError

    from triagebot.core.models import Action, Decision, DetailReport, Language, TipScore
    from triagebot.core.render import TEMPLATE_FOR, Renderer, make_environment

    renderer = Renderer(knowledge, make_environment(templates))
    newest = knowledge.releases[-1].version
    scenarios = (
        DetailReport(),
        DetailReport(
            version=newest,
            series=None,
            os="Rocky Linux 9",
            hypervisor="KVM",
            hypervisor_kind="kvm",
            specifics=True,
        ),
    )
    problems: list[Problem] = []
    for tip in knowledge.tips:
        for language in Language:
            name = str(directory / TEMPLATE_FOR.format(language=language.value))
            for channel in Channel:
                for details in scenarios:
                    decision = Decision(Action.SUGGEST, (TipScore(tip.id, 0.9),), details.missing, "validate")
                    try:
                        reply = renderer.render(decision, details, language, channel)
                    except (TemplateError, KeyError, TypeError) as exc:
                        problems.append(
                            Problem(name, getattr(exc, "lineno", None), tip.id, f"does not render: {exc}")
                        )
                        break
                    if tip.title.get(language.value) not in reply.text:
                        problems.append(
                            Problem(name, None, tip.id, f"{channel.value} reply lacks the tip title")
                        )
        if problems:
            break
    return problems


def run_self_test(knowledge: Any, files: dict[str, str], kb_dir: Path) -> list[Problem]:
    """Train in memory; each tip's own examples must mostly classify to it (SELF_TEST_MIN)."""
    from triagebot.core.classify import Classifier, SymptomRules
    from triagebot.core.kb import line_of
    from triagebot.core.training import train_model

    model = train_model(knowledge)
    classifier = Classifier(model, SymptomRules(knowledge))
    problems: list[Problem] = []
    for tip in knowledge.tips:
        questions = [make_question("", example) for example in tip.examples]
        results = classifier.classify_many(questions)
        wrong = [i for i, r in enumerate(results) if not r.tips or r.tips[0].tip_id != tip.id]
        share = 1 - len(wrong) / len(results)
        name = f"tips/{tip.id}.yaml"
        if share < SELF_TEST_MIN:
            for i in wrong:
                got = results[i].tips[0].tip_id if results[i].tips else "nothing"
                problems.append(
                    Problem(
                        str(kb_dir / name),
                        line_of(files[name], ("examples", i)),
                        f"examples.{i}",
                        f"classifies to {got}",
                    )
                )
            problems.append(
                Problem(
                    str(kb_dir / name),
                    None,
                    "examples",
                    f"self-test: only {share:.0%} of examples classify to {tip.id}",
                )
            )
        else:
            click.echo(f"self-test {tip.id:<22} {share:.0%} of {len(results)} examples")
    return problems
