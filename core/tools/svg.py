"""Small static charts as inline SVG, for files that must open offline with no script (the phrase report): a line
chart and a grouped bar chart along the tokens of a text, and a scatter with a path over it.

Each chart is a string holding one <svg> element: no script, no external reference (fonts, images, stylesheets),
a <title> naming the chart for screen readers, and a <title> inside every mark, which browsers show as a tooltip.
Every text drawn goes through html.escape. Along the tokens every label is drawn (rotated when it does not fit
level; a long one shortened on the axis, whole in its tooltip), so a chart of a long text is wide rather than
unlabelled. Layout, in pixels: the plot area starts MARGIN_LEFT from the left and MARGIN_TOP from the top (a row
lower for each legend row after the first), and ends MARGIN_RIGHT from the right and `x_label_room` from the
bottom; a token sits at the centre of its equal band (TokenFrame); the value axis is linear over `nice_ticks` of
the values and of the reference lines.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

MARGIN_TOP, MARGIN_RIGHT, MARGIN_LEFT = 28, 16, 64
X_TITLE_ROOM = 30          # below the tick labels: the x axis title
LEVEL_LABEL_ROOM = 16      # tick labels written level
CHAR_WIDTH = 6.6           # px per character of an 11 px sans-serif label (a layout estimate)
LABEL_CHARS = 22           # a tick label longer than this is shortened on the axis (whole in its tooltip)
MIN_BAND = 18              # px per token at least, room for its label
LEGEND_ROW = 16            # px per row of the legend above the plot (the first fits in MARGIN_TOP)
MIN_WIDTH, HEIGHT = 640, 260
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
GRID, AXIS, INK = "#e5e5e5", "#888888", "#222222"
# The readout's diverging colours (as on the app's charts): red below 0, blue above.
NEGATIVE, MIDDLE, POSITIVE = "#e34a33", "#f2f2f2", "#2b8cbe"


@dataclass(frozen=True)
class Series:
    """One named series of values along the tokens. None (or a value that is not finite) leaves a gap. `colors`
    gives each value its own colour instead of `color`; `tips` each value its own tooltip (default: the token's
    label, the series name and the value)."""
    name: str
    values: Sequence[float | None]
    color: str
    colors: Sequence[str] | None = None
    tips: Sequence[str] | None = None

    def color_of(self, i: int) -> str:
        return self.colors[i] if self.colors else self.color

    def tip_of(self, i: int, label: str) -> str:
        return self.tips[i] if self.tips else f"{label}\n{self.name} = {self.values[i]:.3f}"


@dataclass(frozen=True)
class Dot:
    """A point of a scatter's background: position, fill colour, tooltip; a circle or a triangle, drawn large
    when `large`."""
    x: float
    y: float
    color: str
    tip: str
    triangle: bool = False
    large: bool = False


@dataclass(frozen=True)
class Linear:
    """A linear scale: the domain [d0, d1] onto the pixels [r0, r1] (a flat domain maps to the middle)."""
    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (v - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


def finite(v: float | None) -> bool:
    """Whether a value can be drawn (not None, not NaN, not infinite)."""
    return v is not None and math.isfinite(v)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values (steps of 1, 2 or 5 x 10^k) from at most `lo` to at least `hi`: the axis's domain
    is the first to the last, so every value lies on the axis and the axis ends on a labelled tick."""
    if lo == hi:
        pad = abs(lo) or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))
    start, stop = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    return [round(start + i * step, 12) for i in range(round((stop - start) / step) + 1)]


def tick_text(t: float, ticks: Sequence[float]) -> str:
    """A tick's label with as many decimals as the ticks' step needs."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return f"{t:.{max(0, -math.floor(math.log10(step)))}f}"


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def diverging(value: float, limit: float) -> str:
    """A colour for a readout: NEGATIVE at -limit and below, MIDDLE at 0, POSITIVE at +limit and above."""
    t = max(-1.0, min(1.0, value / limit)) if limit > 0 else 0.0
    a, b = _rgb(MIDDLE), _rgb(POSITIVE if t > 0 else NEGATIVE)
    return "#" + "".join(f"{round(p + abs(t) * (q - p)):02x}" for p, q in zip(a, b))


def x_label_room(labels: Sequence[str], band: float) -> tuple[float, bool]:
    """(pixels below the plot for the tick labels and the axis title, whether the labels are rotated): level
    when the longest fits its band, else at -45 degrees."""
    longest = min(max((len(s) for s in labels), default=0), LABEL_CHARS + 1) * CHAR_WIDTH
    if longest <= band - 2:
        return LEVEL_LABEL_ROOM + X_TITLE_ROOM, False
    return longest * math.sqrt(0.5) + 14 + X_TITLE_ROOM, True


def legend_rows(entries: Sequence[tuple[str, str]], width: float) -> list[list[tuple[str, str, float]]]:
    """The legend's (name, colour, x) entries, in rows that fit the chart's width (none without entries)."""
    rows: list[list[tuple[str, str, float]]] = []
    x = math.inf
    for name, color in entries:
        w = 14 + len(name) * CHAR_WIDTH
        if x + w > width - MARGIN_RIGHT:
            rows.append([])
            x = MARGIN_LEFT
        rows[-1].append((name, color, x))
        x += w + 14
    return rows


def top_margin(rows: Sequence[Sequence]) -> float:
    """The plot's top edge: MARGIN_TOP, lower by a row for each legend row after the first."""
    return MARGIN_TOP + LEGEND_ROW * max(len(rows) - 1, 0)


@dataclass(frozen=True)
class TokenFrame:
    """The layout of a chart along tokens: its size, each token's band, the plot's top and bottom edges, whether
    the token labels are rotated, the value axis (scale and ticks) and the legend's rows."""
    width: float
    height: float
    band: float
    top: float
    bottom: float
    rotate: bool
    scale: Linear
    ticks: list[float]
    legend: list[list[tuple[str, str, float]]]

    @classmethod
    def of(cls, labels: Sequence[str], values: Sequence[float | None], width: float | None, height: float,
           legend: Sequence[tuple[str, str]] = ()) -> TokenFrame:
        """The frame for these labels, values (their ticks set the value axis) and legend entries. Width: given,
        else MIN_BAND per token (at least MIN_WIDTH); height: given for level labels and a one-row legend, taller
        by what rotated labels and more legend rows need, so the plot keeps its height."""
        width = width or max(MIN_WIDTH, MARGIN_LEFT + MARGIN_RIGHT + len(labels) * MIN_BAND)
        band = (width - MARGIN_LEFT - MARGIN_RIGHT) / max(len(labels), 1)
        room, rotate = x_label_room(labels, band)
        rows = legend_rows(legend, width)
        top = top_margin(rows)
        height += room - LEVEL_LABEL_ROOM - X_TITLE_ROOM + top - MARGIN_TOP
        drawn = [v for v in values if finite(v)]
        ticks = nice_ticks(min(drawn, default=0.0), max(drawn, default=1.0))
        bottom = height - room
        return cls(width, height, band, top, bottom, rotate, Linear(ticks[0], ticks[-1], bottom, top), ticks, rows)

    @property
    def right(self) -> float:
        return self.width - MARGIN_RIGHT

    def x(self, i: int) -> float:
        """The centre of token i's band."""
        return MARGIN_LEFT + (i + 0.5) * self.band


def _n(v: float) -> str:
    return f"{v:.1f}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def _tip(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (f'<svg class="chart" role="img" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{escape(FONT)}" font-size="11" fill="{INK}">'
            f"{_tip(title)}{''.join(body)}</svg>")


def _legend(rows: Sequence[Sequence[tuple[str, str, float]]]) -> list[str]:
    """Swatches and names in rows above the plot (legend_rows)."""
    return [f'<rect x="{_n(x)}" y="{8 + LEGEND_ROW * r}" width="10" height="10" fill="{escape(color)}"/>'
            f'<text x="{_n(x + 14)}" y="{17 + LEGEND_ROW * r}">{escape(name)}</text>'
            for r, row in enumerate(rows) for name, color, x in row]


def _value_axis(scale: Linear, ticks: Sequence[float], right: float, title: str, rules: Sequence[float]) -> list[str]:
    """Grid lines and labels of the value (y) axis, its title, and dashed reference lines at `rules`."""
    out = []
    for t in ticks:
        y = _n(scale(t))
        out.append(f'<line x1="{MARGIN_LEFT}" x2="{_n(right)}" y1="{y}" y2="{y}" stroke="{GRID}"/>'
                   f'<text x="{MARGIN_LEFT - 6}" y="{y}" dy="0.32em" text-anchor="end">{tick_text(t, ticks)}</text>')
    for r in rules:
        y = _n(scale(r))
        out.append(f'<line x1="{MARGIN_LEFT}" x2="{_n(right)}" y1="{y}" y2="{y}" stroke="{AXIS}" '
                   f'stroke-dasharray="4 4"/>')
    mid = (scale.r0 + scale.r1) / 2
    out.append(f'<text transform="translate(14 {_n(mid)}) rotate(-90)" text-anchor="middle">{escape(title)}</text>')
    return out


def _token_axes(f: TokenFrame, labels: Sequence[str], y_title: str, x_title: str, rules: Sequence[float]) -> list[str]:
    """Both axes of a chart along tokens: the value axis with its reference lines, the token axis line, every
    token's label (level, or rotated) and the titles."""
    out = _value_axis(f.scale, f.ticks, f.right, y_title, rules)
    out.append(f'<line x1="{MARGIN_LEFT}" x2="{_n(f.right)}" y1="{_n(f.bottom)}" y2="{_n(f.bottom)}" stroke="{AXIS}"/>')
    for i, label in enumerate(labels):
        place = (f'transform="translate({_n(f.x(i))} {_n(f.bottom + 10)}) rotate(-45)" text-anchor="end"' if f.rotate
                 else f'x="{_n(f.x(i))}" y="{_n(f.bottom + 14)}" text-anchor="middle"')
        out.append(f"<text {place}>{_tip(label)}{escape(_short(label))}</text>")
    out.append(f'<text x="{_n((MARGIN_LEFT + f.right) / 2)}" y="{_n(f.height - 8)}" text-anchor="middle">'
               f"{escape(x_title)}</text>")
    return out


def line_chart(labels: Sequence[str], series: Sequence[Series], title: str, y_title: str, x_title: str = "token",
               rules: Sequence[float] = (), width: float | None = None, height: float = HEIGHT) -> str:
    """Values along the tokens as lines with a point per value (a gap where a value is missing), a dashed
    line at each of `rules` (inside the axis), a legend when there is more than one series."""
    entries = [(s.name, s.color) for s in series] if len(series) > 1 else []
    f = TokenFrame.of(labels, [v for s in series for v in s.values] + list(rules), width, height, entries)
    body = _token_axes(f, labels, y_title, x_title, rules)
    for s in series:
        runs: list[list[str]] = [[]]
        dots = []
        for i, v in enumerate(s.values):
            if not finite(v):
                runs.append([])
                continue
            x, y = _n(f.x(i)), _n(f.scale(v))
            runs[-1].append(f"{x},{y}")
            dots.append(f'<circle cx="{x}" cy="{y}" r="3.5" fill="{escape(s.color_of(i))}">'
                        f"{_tip(s.tip_of(i, labels[i]))}</circle>")
        body += [f'<polyline points="{" ".join(r)}" fill="none" stroke="{escape(s.color)}" stroke-width="1.5"/>'
                 for r in runs if len(r) > 1] + dots
    return _svg(f.width, f.height, title, body + _legend(f.legend))


def bar_chart(labels: Sequence[str], series: Sequence[Series], title: str, y_title: str, x_title: str = "token",
              rules: Sequence[float] = (), legend: Sequence[tuple[str, str]] | None = None,
              width: float | None = None, height: float = HEIGHT) -> str:
    """Bars from 0 along the tokens, the series side by side within each token's band (none where a value is
    missing), a dashed line at each of `rules`; the legend: `legend` (name, colour) pairs, else the series'
    names when there is more than one."""
    entries = legend if legend is not None else [(s.name, s.color) for s in series] if len(series) > 1 else []
    f = TokenFrame.of(labels, [v for s in series for v in s.values] + [0.0, *rules], width, height, entries)
    body = _token_axes(f, labels, y_title, x_title, rules)
    bar, zero = f.band * 0.8 / max(len(series), 1), f.scale(0.0)
    for k, s in enumerate(series):
        for i, v in enumerate(s.values):
            if not finite(v):
                continue
            x, y = f.x(i) - 0.4 * f.band + k * bar, f.scale(v)
            body.append(f'<rect x="{_n(x)}" y="{_n(min(y, zero))}" width="{_n(bar)}" height="{_n(abs(zero - y))}" '
                        f'fill="{escape(s.color_of(i))}">{_tip(s.tip_of(i, labels[i]))}</rect>')
    return _svg(f.width, f.height, title, body + _legend(f.legend))


def path_scatter(dots: Sequence[Dot], path: Sequence[tuple[float, float]], path_tips: Sequence[str],
                 path_labels: Sequence[str], title: str, x_title: str, y_title: str,
                 legend: Sequence[tuple[str, str]] = (), width: float = 640, height: float = 460) -> str:
    """A scatter of `dots` with a black path over it: a point per step with its tooltip (`path_tips`), the first
    len(path_labels) steps named beside their point (more labels pile up; every tooltip names its step)."""
    xs = [d.x for d in dots] + [p[0] for p in path]
    ys = [d.y for d in dots] + [p[1] for p in path]
    rows = legend_rows(legend, width)
    top = top_margin(rows)
    height += top - MARGIN_TOP
    bottom, right = height - LEVEL_LABEL_ROOM - X_TITLE_ROOM, width - MARGIN_RIGHT
    xt = nice_ticks(min(xs, default=0.0), max(xs, default=1.0))
    yt = nice_ticks(min(ys, default=0.0), max(ys, default=1.0))
    sx, sy = Linear(xt[0], xt[-1], MARGIN_LEFT, right), Linear(yt[0], yt[-1], bottom, top)
    body = _value_axis(sy, yt, right, y_title, ())
    for t in xt:
        x = _n(sx(t))
        body.append(f'<line x1="{x}" x2="{x}" y1="{_n(top)}" y2="{_n(bottom)}" stroke="{GRID}"/>'
                    f'<text x="{x}" y="{_n(bottom + 14)}" text-anchor="middle">{tick_text(t, xt)}</text>')
    body.append(f'<text x="{_n((MARGIN_LEFT + right) / 2)}" y="{_n(height - 8)}" text-anchor="middle">'
                f"{escape(x_title)}</text>")
    for d in dots:
        x, y, r = sx(d.x), sy(d.y), 7.0 if d.large else 4.0
        tag, where = (("polygon", f'points="{_n(x)},{_n(y - r)} {_n(x - r)},{_n(y + r * 0.8)} '
                                  f'{_n(x + r)},{_n(y + r * 0.8)}"') if d.triangle
                      else ("circle", f'cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}"'))
        body.append(f'<{tag} {where} fill="{escape(d.color)}" stroke="{AXIS}" stroke-width="0.5">{_tip(d.tip)}</{tag}>')
    pts = [(sx(a), sy(b)) for a, b in path]
    if len(pts) > 1:
        body.append(f'<polyline points="{" ".join(f"{_n(a)},{_n(b)}" for a, b in pts)}" fill="none" '
                    f'stroke="{INK}" stroke-width="1.5"/>')
    for (a, b), tip in zip(pts, path_tips):
        body.append(f'<circle cx="{_n(a)}" cy="{_n(b)}" r="3" fill="{INK}">{_tip(tip)}</circle>')
    for (a, b), label in zip(pts, path_labels):
        body.append(f'<text x="{_n(a + 6)}" y="{_n(b - 6)}">{escape(_short(label))}</text>')
    return _svg(width, height, title, body + _legend(rows))
