"""Small server-rendered SVG charts for the dashboard; every label is escaped, no script, no library.

Each function returns `Markup` ready to place in a template. Sizes are in SVG user units; the CSS lets
the SVG scale to its container.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = (
    "#2f6fb2",
    "#e08a1e",
    "#3a9a5b",
    "#c4473a",
    "#7d5ba6",
    "#8c6d46",
    "#d36ba8",
    "#6b7a8f",
    "#b8b13a",
    "#17a2b8",
    "#9ecae9",
    "#ffbf79",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#333f50",
)
BAR_HEIGHT = 22
LABEL_WIDTH = 300
PLOT_WIDTH = 360


def _svg(width: int, height: int, title: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def bars(title: str, rows: Sequence[tuple[str, float, str]], *, maximum: float | None = None) -> Markup:
    """Horizontal bars: one (label, value, shown value) per row, scaled to `maximum` (default: largest)."""
    top = maximum if maximum is not None else max((value for _, value, _ in rows), default=0.0)
    height = BAR_HEIGHT * max(len(rows), 1) + 4
    parts = []
    for index, (label, value, shown) in enumerate(rows):
        y = index * BAR_HEIGHT + 2
        width = 0.0 if top <= 0 else PLOT_WIDTH * value / top
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{BAR_HEIGHT - 6}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 15}">{escape(shown)}</text>'
        )
    return _svg(LABEL_WIDTH + PLOT_WIDTH + 70, height, title, "".join(parts))


def stacked(
    title: str, rows: Sequence[tuple[str, Sequence[int]]], legend: Sequence[str], *, note: Sequence[str] = ()
) -> Markup:
    """Horizontal bars split into parts (e.g. approved / edited / rejected), each row scaled to 100 %.

    `note` optionally gives a text per row shown after the bar (e.g. the precision).
    """
    height = BAR_HEIGHT * (len(rows) + 1) + 8
    parts = []
    for index, (label, counts) in enumerate(rows):
        y = index * BAR_HEIGHT + 2
        total = sum(counts)
        x = float(LABEL_WIDTH)
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        for part, count in enumerate(counts):
            width = 0.0 if total == 0 else PLOT_WIDTH * count / total
            if width > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{BAR_HEIGHT - 6}" '
                    f'fill="{PALETTE[part % len(PALETTE)]}">'
                    f"<title>{escape(legend[part])}: {count}</title></rect>"
                )
            x += width
        shown = note[index] if index < len(note) else str(total)
        parts.append(f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 4}" y="{y + 15}">{escape(shown)}</text>')
    parts.append(_legend(legend, len(rows) * BAR_HEIGHT + 6))
    return _svg(LABEL_WIDTH + PLOT_WIDTH + 90, height, title, "".join(parts))


def columns(title: str, periods: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """Stacked columns: one column per period, one colour per series (e.g. tips per week)."""
    plot_height, column_width, left, top_margin = 180, 44, 36, 20
    totals = [sum(values[i] for _, values in series) for i in range(len(periods))]
    top = max(totals, default=0) or 1
    width = left + column_width * max(len(periods), 1) + 10
    legend_rows = (len(series) + 2) // 3
    height = plot_height + 40 + legend_rows * 18
    usable = plot_height - top_margin
    parts = [
        f'<line x1="{left}" y1="{plot_height}" x2="{width - 6}" y2="{plot_height}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top_margin + 4}" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{plot_height}" text-anchor="end">0</text>',
    ]
    for i, period in enumerate(periods):
        x = left + i * column_width + 3
        y = float(plot_height)
        for s, (name, values) in enumerate(series):
            h = usable * values[i] / top
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x}" y="{y:.1f}" width="{column_width - 6}" height="{h:.1f}" '
                    f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(period)} {escape(name)}: '
                    f"{values[i]}</title></rect>"
                )
        if i % max(1, len(periods) // 8) == 0:  # "2025-W03" → "W03", the year only where it changes
            label = period if i == 0 or period[:4] != periods[i - 1][:4] else period[5:]
            parts.append(f'<text x="{x}" y="{plot_height + 14}" class="small">{escape(label)}</text>')
    parts.append(_legend([name for name, _ in series], plot_height + 26, columns=3))
    return _svg(max(width, 560), height, title, "".join(parts))


def _legend(names: Sequence[str], y: int, *, columns: int = 4) -> str:
    parts = []
    for index, name in enumerate(names):
        x = 10 + (index % columns) * 180
        row_y = y + (index // columns) * 18
        parts.append(
            f'<rect x="{x}" y="{row_y}" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>'
            f'<text x="{x + 16}" y="{row_y + 11}" class="small">{escape(name)}</text>'
        )
    return "".join(parts)
