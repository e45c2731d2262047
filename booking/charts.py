"""Server-rendered SVG charts for the staff pages: the sales dashboard's payments per day (no JavaScript, no CDN)."""

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import ngettext

from concerts.pricing import won

from .selectors import DaySales

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 12, 28


def _bar_title(day: DaySales) -> str:
    return f"{day.day:%Y-%m-%d}: " + ngettext(
        "%(count)d payment, %(amount)s", "%(count)d payments, %(amount)s", day.tickets
    ) % {"count": day.tickets, "amount": won(day.amount)}


def daily_sales_svg(series: Sequence[DaySales]) -> SafeString:
    """A bar chart of gross payments per day, refunds not deducted (list of selectors.DaySales, oldest first),
    as safe SVG markup."""
    days = len(series) or 1
    peak = max((day.amount for day in series), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / days
    bars = []
    for index, day in enumerate(series):
        height = plot_h * day.amount / peak
        x = LEFT + index * slot + slot * 0.15
        y = TOP + plot_h - height
        bars.append(
            (
                f"{x:.1f}",
                f"{y:.1f}",
                f"{slot * 0.7:.1f}",
                f"{height:.1f}",
                _bar_title(day),
            )
        )
    labels = [
        (f"{LEFT + index * slot + slot / 2:.1f}", HEIGHT - 8, f"{day.day:%m-%d}")
        for index, day in enumerate(series)
        if index % 5 == 0 or index == days - 1
    ]
    total = sum(day.amount for day in series)
    tickets = sum(day.tickets for day in series)
    return format_html(
        '<svg class="sales-chart" role="img" viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet" '
        'xmlns="http://www.w3.org/2000/svg"><title>{title}</title>'
        '<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="#999"/>'
        '<line x1="{left}" y1="{top}" x2="{right}" y2="{top}" stroke="#ddd" stroke-dasharray="4 3"/>'
        '<text x="{label_x}" y="{top_text}" text-anchor="end" font-size="11" fill="#555">{peak}</text>'
        '<text x="{label_x}" y="{base}" text-anchor="end" font-size="11" fill="#555">0</text>'
        "{bars}{labels}</svg>",
        w=WIDTH,
        h=HEIGHT,
        title=ngettext(
            "Gross payments per day: %(count)d payment, %(amount)s",
            "Gross payments per day: %(count)d payments, %(amount)s",
            tickets,
        )
        % {"count": tickets, "amount": won(total)},
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        base=TOP + plot_h,
        label_x=LEFT - 6,
        top_text=TOP + 4,
        peak=won(peak) if total else "",
        bars=format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="#1aa571"><title>{}</title></rect>',
            bars,
        )
        if total
        else mark_safe(""),
        labels=format_html_join(
            "", '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#555">{}</text>', labels
        ),
    )
