"""Server-rendered SVG charts (no script, so the CSP holds); every mark has a <title>."""

import datetime
import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def _num(value: str) -> float | None:
    m = re.search(r"\d+(?:[.,]\d+)?", value or "")
    return float(m.group(0).replace(",", ".")) if m else None


def indicator_chart(indicator, values) -> SafeString:
    """Bars per period, with the baseline and target as lines when they are numbers."""
    points = [(v.period, v.numeric if v.numeric is not None else _num(v.value), v.value) for v in values]
    points = [p for p in points if p[1] is not None]
    base, target = _num(indicator.baseline), _num(indicator.target)
    top = max([p[1] for p in points] + [x for x in (base, target) if x is not None] + [1.0])
    width, height, pad = 480, 200, 30
    bar = (width - 2 * pad) / max(len(points), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="w-100">',
        f"<title>{escape(str(indicator))}</title>",
    ]
    for i, (period, value, raw) in enumerate(points):
        h = (height - 2 * pad) * value / top
        x = pad + i * bar + 4
        parts.append(
            f'<rect x="{x:.1f}" y="{height - pad - h:.1f}" width="{bar - 8:.1f}" height="{h:.1f}" fill="#0d6efd">'
            f"<title>{escape(period)}: {escape(raw)}</title></rect>"
            f'<text x="{x + (bar - 8) / 2:.1f}" y="{height - 10}" font-size="10" '
            f'text-anchor="middle">{escape(period)}</text>'
        )
    for label, value, colour in ((_("Baseline"), base, "#6c757d"), (_("Target"), target, "#198754")):
        if value is not None:
            y = height - pad - (height - 2 * pad) * value / top
            parts.append(
                f'<line x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
                f'stroke-dasharray="4 3"><title>{escape(label)}: {value:g}</title></line>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every value is escaped above)


def gantt(tasks, today: datetime.date) -> SafeString:
    """One bar per task from its start (or the due date's month) to its due date."""
    if not tasks:
        return mark_safe("")
    starts = [t.start_date or t.due_date.replace(day=1) for t in tasks]
    lo, hi = min(starts), max(t.due_date for t in tasks)
    span = max((hi - lo).days, 1)
    width, row, left = 900, 18, 260
    height = row * len(tasks) + 30
    scale = (width - left - 10) / span
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="w-100">',
        f"<title>{escape(pgettext('plan schedule', 'Timeline'))}</title>",
    ]
    colours = {"done": "#198754", "overdue": "#dc3545", "blocked": "#fd7e14", "in_progress": "#0d6efd"}
    for i, (task, start) in enumerate(zip(tasks, starts, strict=True)):
        y = 20 + i * row
        x = left + (start - lo).days * scale
        w = max((task.due_date - start).days * scale, 3)
        label = f"{task.section.code} {task.number}. {task.content[:38]}"
        parts.append(
            f'<text x="4" y="{y + 12}" font-size="10">{escape(label)}</text>'
            f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{colours.get(task.status, "#adb5bd")}"><title>{escape(task.content[:200])}: '
            f"{start:%d/%m/%Y} – {task.due_date:%d/%m/%Y} ({task.progress}%)</title></rect>"
        )
    if lo <= today <= hi:
        x = left + (today - lo).days * scale
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="10" y2="{height}" stroke="#dc3545"><title>{today:%d/%m/%Y}'
            "</title></line>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308
