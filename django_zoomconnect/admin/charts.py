"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, nothing fetched (admins run offline).

:func:`stacked_bars` takes plain numbers and returns safe markup: one ``<rect>`` per non-zero
value, each with a ``<title>`` that a browser shows as its tooltip. Text and lines use
``currentColor``, so the chart follows the admin's light or dark theme.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

__all__ = ["Bar", "Series", "nice_ceiling", "stacked_bars"]


@dataclass(frozen=True)
class Series:
    """One kind of value stacked in every bar: its key, its name in the legend, its colour."""

    key: str
    label: str
    colour: str


# The drawing's geometry, in SVG user units.
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 10, 24
_GAP = 0.25  # of each slot, left free between bars
_TICKS = 4  # horizontal grid lines above the baseline


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label, its name in tooltips, and a value per series key."""

    label: str
    title: str
    values: Mapping[str, int]


def nice_ceiling(value: float, steps: int = _TICKS) -> tuple[int, int]:
    """The axis top and grid step for ``value``: a step of 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return steps, 1
    rough = value / steps
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    step = max(int(step), 1)
    return step * math.ceil(value / step), step


def stacked_bars(
    bars: Sequence[Bar],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 720,
    height: int = 220,
    label_every: int = 5,
    empty_text: str = "Nothing to show",
) -> SafeString:
    """An SVG bar chart, one stacked bar per item of ``bars`` (series stacked in their order).

    Every ``label_every``-th bar (counted from the last) is labelled under the axis. With no
    value at all the axes are drawn with ``empty_text`` across them.
    """
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    peak = max((sum(bar.values.get(s.key, 0) for s in series) for bar in bars), default=0)
    top, step = nice_ceiling(peak)
    scale = plot_h / top
    base = _TOP + plot_h
    parts: list[str] = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="zoomconnect-chart" viewBox="0 0 {} {}" '
            'width="{}" height="{}" role="img" aria-label="{}"><title>{}</title>',
            width,
            height,
            width,
            height,
            title,
            title,
        )
    ]
    for tick in range(0, top + 1, step):
        y = _num(base - tick * scale)
        parts.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" '
                'stroke-opacity="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="currentColor">{}</text>',
                _LEFT,
                width - _RIGHT,
                y,
                y,
                "0.6" if tick == 0 else "0.15",
                _LEFT - 6,
                _num(base - tick * scale + 4),
                f"{tick:,}",
            )
        )
    slot = plot_w / max(len(bars), 1)
    for index, bar in enumerate(bars):
        x = _LEFT + index * slot + slot * _GAP / 2
        parts.append(format_html('<g class="bar" data-label="{}">', bar.label))
        stacked = 0.0
        for one in series:
            value = bar.values.get(one.key, 0)
            if value <= 0:
                continue
            tall = max(value * scale, 1.0)
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-series="{}">'
                    "<title>{}: {} {}</title></rect>",
                    _num(x),
                    _num(base - stacked - tall),
                    _num(slot * (1 - _GAP)),
                    _num(tall),
                    one.colour,
                    one.key,
                    bar.title,
                    f"{value:,}",
                    one.label,
                )
            )
            stacked += tall
        parts.append("</g>")
        if (len(bars) - 1 - index) % label_every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="currentColor">{}</text>',
                    _num(x + slot * (1 - _GAP) / 2),
                    base + 16,
                    bar.label,
                )
            )
    if peak == 0:
        parts.append(
            format_html(
                '<text class="empty" x="{}" y="{}" font-size="13" text-anchor="middle" '
                'fill="currentColor" fill-opacity="0.7">{}</text>',
                _LEFT + plot_w // 2,
                _TOP + plot_h // 2,
                empty_text,
            )
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every part escaped by format_html)


def _num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
