"""Line charts drawn by the server as inline SVG: the geometry of a few series of evenly spaced
points in a fixed viewBox, which a template writes out as <path> and <circle> elements.

Drawn on the server so that a chart is part of the live fragment it belongs to (rendered, compared
and replaced with the rest of it, tenants/live_fragments.py), with no script, no client-side state
and no inline style, which the portal's content policy refuses. Colours come from the stylesheet by
series index (`chart-series-<n>`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 600, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 12, 26  # room for the axes' labels
SERIES_STYLES = 6  # portal.css defines .chart-series-0 to -5; later series reuse them


@dataclass(frozen=True)
class Line:
    key: str  # what the series is, for the page and tests (a queue's SID)
    label: str
    style: int  # which of the stylesheet's series colours
    path: str  # "M x y L x y …", a new M after each missing point
    dots: list[tuple[float, float]]


@dataclass(frozen=True)
class Tick:
    at: float  # a y (value ticks) or an x (time ticks) in the viewBox
    label: str
    anchor: str = "middle"  # SVG's text-anchor: a time axis's first label starts, its last ends


@dataclass(frozen=True)
class LineChart:
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: Sequence[float | None]  # None: no value at that point (a gap in the line)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50… at or above `value`: a y-axis top that reads well."""
    step = 1.0
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _path(points: list[tuple[float, float] | None]) -> str:
    parts: list[str] = []
    pen_down = False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{point[0]:.1f} {point[1]:.1f}")
        pen_down = True
    return " ".join(parts)


def line_chart(
    *,
    series: Sequence[Series],
    y_max: float,
    y_label: Callable[[float], str],
    x_labels: Sequence[tuple[int, str]],
) -> LineChart:
    """The chart of `series` (each the same number of points, left to right) on a y axis from 0 to
    `y_max`; `x_labels` are (point index, label) pairs for the time axis."""
    count = max((len(s.values) for s in series), default=0)
    span_x, span_y = WIDTH - RIGHT - LEFT, HEIGHT - BOTTOM - TOP

    def x(index: int) -> float:
        return LEFT + (span_x * index / (count - 1) if count > 1 else span_x)

    def y(value: float) -> float:
        return HEIGHT - BOTTOM - span_y * min(max(value / y_max, 0.0), 1.0)

    lines = []
    for number, one in enumerate(series):
        points = [None if v is None else (x(i), y(v)) for i, v in enumerate(one.values)]
        lines.append(
            Line(
                key=one.key,
                label=one.label,
                style=number % SERIES_STYLES,
                path=_path(points),
                dots=[point for point in points if point is not None],
            )
        )
    y_ticks = [Tick(y(value), y_label(value)) for value in (0.0, y_max / 2, y_max)]
    x_ticks = [
        Tick(x(index), label, "start" if index == 0 else "end" if index == count - 1 else "middle")
        for index, label in x_labels
        if 0 <= index < count
    ]
    return LineChart(lines=lines, y_ticks=y_ticks, x_ticks=x_ticks)
