"""The quality report file in real headless Chromium: every chart drawn, no request leaves file://."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from playwright.sync_api import Browser

import triagebot.cli.report_cmds  # noqa: F401  (registers the commands)
from tests.cli.test_report_cmds import ROOT, seed
from tests.web.test_browser import ARTIFACTS, _png_colours, browser  # noqa: F401  (the fixture)
from triagebot.app import Engine
from triagebot.cli import cli

CHARTS = ("chart-f1", "chart-confusion", "chart-curve", "chart-reliability", "chart-decisions", "chart-gaps")


def test_the_report_opens_offline_with_every_chart_drawn(
    browser: Browser,  # noqa: F811
    engine: Engine,
    models_dir: Path,
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/report.sqlite3"
    seed(url, engine)
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli,
        [
            "--db",
            url,
            "--models",
            str(models_dir),
            "report",
            "-o",
            str(report),
            "--data",
            str(ROOT / "dev" / "dev.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(report.as_uri())
    page.wait_for_load_state("networkidle")
    try:
        for chart in CHARTS:
            svg = page.locator(f"#{chart} svg")
            assert svg.count() == 1, chart
            box = svg.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50, chart
            shapes = svg.locator("rect, circle, polyline").count()
            assert shapes >= 3, chart
        assert page.locator("#chart-curve circle.mark").count() == 1  # the threshold in use
        assert page.locator("#chart-confusion rect.cell").count() >= 16 * 16
        ARTIFACTS.mkdir(exist_ok=True)
        shot = page.screenshot(path=str(ARTIFACTS / "quality-report.png"), full_page=True)
        assert _png_colours(shot) > 2
        chart_shot = page.locator("#chart-curve svg").screenshot()
        assert _png_colours(chart_shot) > 2
    finally:
        context.close()
    assert requests, "the page itself was loaded"
    assert all(request.startswith("file://") for request in requests), requests
