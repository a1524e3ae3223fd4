"""A line chart of one sensor's readings as server-drawn SVG: no script, so it works under the
site's strict Content-Security-Policy and on any phone. Threshold lines are drawn in."""

import datetime
from dataclasses import dataclass

from django.utils.translation import ngettext

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_Y = 640, 180, 48, 8, 14


@dataclass
class Line:
    y: float
    label: str
    level: str


@dataclass
class SvgChart:
    width: int
    height: int
    points: str  # the polyline's "x,y x,y ..."
    lines: list[Line]
    y_labels: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    summary: str


def line_chart(series: list[tuple[datetime.datetime, float]], *, thresholds: list[tuple[str, float]],
               unit: str, label: str) -> SvgChart | None:  # fmt: skip
    if len(series) < 2:
        return None
    times = [t.timestamp() for t, _ in series]
    values = [v for _, v in series]
    low = min(values + [value for _, value in thresholds])
    high = max(values + [value for _, value in thresholds])
    if high == low:
        high, low = high + 1, low - 1
    span_t = times[-1] - times[0] or 1
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - 2 * PAD_Y

    def x(t: float) -> float:
        return round(PAD_LEFT + (t - times[0]) / span_t * plot_w, 1)

    def y(v: float) -> float:
        return round(PAD_Y + (high - v) / (high - low) * plot_h, 1)

    points = " ".join(f"{x(t)},{y(v)}" for t, v in zip(times, values, strict=True))
    lines = [Line(y(value), f"{value:g}", level) for level, value in thresholds]
    y_labels = [(y(high), f"{high:g}"), (y(low), f"{low:g}")]
    x_labels = [(x(times[0]), _stamp(series[0][0])), (x(times[-1]), _stamp(series[-1][0]))]
    summary = ngettext(
        "%(label)s: %(count)s reading, %(low)s–%(high)s %(unit)s, latest %(latest)s %(unit)s",
        "%(label)s: %(count)s readings, %(low)s–%(high)s %(unit)s, latest %(latest)s %(unit)s",
        len(values),
    ) % {"label": label, "count": len(values), "low": f"{min(values):g}", "high": f"{max(values):g}",
         "unit": unit, "latest": f"{values[-1]:g}"}  # fmt: skip
    return SvgChart(WIDTH, HEIGHT, points, lines, y_labels, x_labels, summary)


def _stamp(moment: datetime.datetime) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%m-%d %H:%M")
