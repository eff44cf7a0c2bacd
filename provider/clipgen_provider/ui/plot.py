"""Credits per DAG and per day as an inline SVG bar chart (stacked by DAG), drawn on the server."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from markupsafe import Markup, escape

from clipgen_provider.ui.spend import SpendRow

WIDTH, HEIGHT = 760, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 12, 24
_PALETTE = ("#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#dc2626")


def colors(dag_ids: Sequence[str]) -> dict[str, str]:
    """A color per DAG, in the order given (the palette repeats past eight DAGs)."""
    return {dag_id: _PALETTE[index % len(_PALETTE)] for index, dag_id in enumerate(dag_ids)}


def spend_plot(rows: Sequence[SpendRow], first: date, last: date) -> Markup:
    """``<svg id="clipgen-spend-plot">``: one bar per day from ``first`` to ``last``, a segment per
    DAG (``rect.clipgen-bar`` with ``data-dag``, ``data-day``, ``data-credits``) colored by
    :func:`colors` of the sorted DAG ids (the page draws the legend)."""
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    by_day: dict[date, list[SpendRow]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    dag_ids = sorted({row.dag_id for row in rows})
    palette = colors(dag_ids)
    peak = max((sum(r.credits for r in by_day[day]) for day in days), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(len(days), 1)
    parts = [
        f'<svg id="clipgen-spend-plot" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Credits spent per DAG and per day">',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - _RIGHT}" y2="{_TOP + plot_h}" '
        'stroke="currentColor"/>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 10}" text-anchor="end" font-size="11">{peak:,.10g}</text>',
        f'<text x="{_LEFT - 6}" y="{_TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for index, day in enumerate(days):
        x = _LEFT + index * slot
        bottom = float(_TOP + plot_h)
        for row in sorted(by_day[day], key=lambda r: r.dag_id):
            height = plot_h * row.credits / peak
            bottom -= height
            parts.append(
                f'<rect class="clipgen-bar" x="{x + 1:.1f}" y="{bottom:.1f}" width="{max(slot - 2, 1):.1f}" '
                f'height="{height:.1f}" fill="{palette[row.dag_id]}" data-dag="{escape(row.dag_id)}" '
                f'data-day="{day.isoformat()}" data-credits="{row.credits:g}">'
                f"<title>{escape(row.dag_id)} · {day.isoformat()} · {row.credits:,.10g} credits</title>"
                "</rect>"
            )
        if index % max(len(days) // 6, 1) == 0 or index == len(days) - 1:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - _BOTTOM + 14}" text-anchor="middle" '
                f'font-size="11">{day.strftime("%m-%d")}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value interpolated above is escaped or a number
