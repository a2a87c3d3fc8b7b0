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


def _axes(left: int, top: int, size: int, x_label: str, y_label: str) -> str:
    """A square plot's frame, 0–1 ticks on both axes and the axis labels."""
    bottom = top + size
    parts = [f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#888"/>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = left + size * tick, bottom - size * tick
        parts.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#888"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" class="small">{tick:g}</text>'
            f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" stroke="#888"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="small">{tick:g}</text>'
        )
    parts.append(
        f'<text x="{left + size / 2:.1f}" y="{bottom + 32}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="14" y="{top + size / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + size / 2:.1f})">{escape(y_label)}</text>'
    )
    return "".join(parts)


def curve(
    title: str,
    points: Sequence[tuple[float, float]],
    *,
    mark: tuple[float, float, str] | None = None,
    x_label: str = "",
    y_label: str = "",
) -> Markup:
    """A line through (x, y) points in the unit square, with one point marked and labelled (`mark`)."""
    left, top, size = 56, 12, 300

    def at(x: float, y: float) -> tuple[float, float]:
        return left + size * min(max(x, 0.0), 1.0), top + size * (1 - min(max(y, 0.0), 1.0))

    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in (at(x, y) for x, y in points))
    parts = [_axes(left, top, size, x_label, y_label)]
    if points:
        parts.append(
            f'<polyline class="line" points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>'
        )
    if mark is not None:
        mx, my = at(mark[0], mark[1])
        parts.append(
            f'<circle class="mark" cx="{mx:.1f}" cy="{my:.1f}" r="6" fill="{PALETTE[3]}">'
            f"<title>{escape(mark[2])}</title></circle>"
            f'<text x="{mx - 8:.1f}" y="{my + 20:.1f}" text-anchor="end">{escape(mark[2])}</text>'
        )
    return _svg(left + size + 20, top + size + 44, title, "".join(parts))


def reliability(
    title: str, cells: Sequence[tuple[float, float, int]], *, x_label: str, y_label: str
) -> Markup:
    """A reliability diagram: (mean score, observed precision, count) per bin against the diagonal.

    A dot's area grows with the bin's count; dots on the diagonal mean the scores are calibrated.
    """
    left, top, size = 56, 12, 300
    biggest = max((count for _, _, count in cells), default=0) or 1
    parts = [
        _axes(left, top, size, x_label, y_label),
        f'<line x1="{left}" y1="{top + size}" x2="{left + size}" y2="{top}" stroke="#bbb" '
        'stroke-dasharray="4 4"/>',
    ]
    for score, precision, count in cells:
        if count == 0:
            continue
        x, y = left + size * score, top + size * (1 - precision)
        radius = 3 + 9 * (count / biggest) ** 0.5
        parts.append(
            f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{PALETTE[0]}" '
            f'fill-opacity="0.7"><title>{score:.2f} → {precision:.0%} ({count})</title></circle>'
        )
    return _svg(left + size + 20, top + size + 44, title, "".join(parts))


def matrix(title: str, labels: Sequence[str], counts: Sequence[Sequence[int]], *, axis: str = "") -> Markup:
    """A heat map of counts[row][column], rows and columns named by `labels`; the diagonal is outlined."""
    cell, left, top = 24, 190, 150
    n = len(labels)
    biggest = max((max(row, default=0) for row in counts), default=0) or 1
    parts = []
    for i, label in enumerate(labels):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + 16}" text-anchor="end" class="small">{escape(label)}</text>'
        )
        x = left + i * cell + 16
        parts.append(
            f'<text x="{x}" y="{top - 6}" transform="rotate(-60 {x} {top - 6})" class="small">'
            f"{escape(label)}</text>"
        )
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            x, y = left + j * cell, top + i * cell
            shade = 0.08 + 0.92 * count / biggest if count else 0.0
            stroke = ' stroke="#333" stroke-width="1.5"' if i == j else ' stroke="#ddd"'
            parts.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{PALETTE[0]}" '
                f'fill-opacity="{shade:.2f}"{stroke}><title>{escape(labels[i])} → {escape(labels[j])}: '
                f"{count}</title></rect>"
            )
            if count:
                colour = "#fff" if shade > 0.5 else "#222"
                parts.append(
                    f'<text x="{x + cell / 2}" y="{y + 16}" text-anchor="middle" class="small" '
                    f'fill="{colour}">{count}</text>'
                )
    if axis:
        parts.append(f'<text x="{left}" y="{top + n * cell + 18}" class="small">{escape(axis)}</text>')
    return _svg(left + n * cell + 20, top + n * cell + 28, title, "".join(parts))


def lines(title: str, periods: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> Markup:
    """Shares (0–1) per period, one line per series, with a legend (e.g. approved / edited / rejected)."""
    left, top, height, step = 40, 14, 180, 44
    width = left + step * max(len(periods) - 1, 1) + 30
    parts = [
        f'<line x1="{left}" y1="{top + height}" x2="{width - 10}" y2="{top + height}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="small">100%</text>',
        f'<text x="{left - 4}" y="{top + height}" text-anchor="end" class="small">0%</text>',
    ]
    for s, (name, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        coords = [(left + i * step, top + height * (1 - v)) for i, v in enumerate(values)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline class="line" points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for (x, y), period, value in zip(coords, periods, values, strict=False):
            parts.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(period)} {escape(name)}: {value:.0%}</title></circle>"
            )
    for i, period in enumerate(periods):
        if i % max(1, len(periods) // 8) == 0:
            label = period if i == 0 or period[:4] != periods[i - 1][:4] else period[5:]
            parts.append(
                f'<text x="{left + i * step}" y="{top + height + 14}" text-anchor="middle" class="small">'
                f"{escape(label)}</text>"
            )
    parts.append(_legend([name for name, _ in series], top + height + 24, columns=3))
    return _svg(max(width, 560), top + height + 46, title, "".join(parts))
