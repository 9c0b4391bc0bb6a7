"""A patient's totals on a scored questionnaire over time, as accessible, CSP-safe inline SVG."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from markupsafe import Markup, escape

from kap.services.errors import Invalid
from kap.services.measures.scoring import Instrument

Point = tuple[datetime, int]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Tick spacing in days; the smallest that keeps date labels apart wins.
_DAY_STEPS = (1, 2, 3, 7, 14, 28, 56, 91, 182, 364)
_DATE_LABEL_PX = 60  # room one "12 Mar" label needs at font-size 12, with air either side
_SCORE_LABEL_GAP_PX = 22  # below this spacing, label only the first and the latest score
_LABEL_CHAR_PX = 6.4  # the widest average width of a band label's character (font-size 11)
_LINE_PX = 13  # a band label's line height
_Y_TICK_GAP_PX = 16  # y-axis numbers closer than this would touch; a bound is left out
_chart_numbers = itertools.count(1)

# Bands are told apart by texture and by their text label, never by colour alone, so they
# survive greyscale printing, forced-colours mode and colour blindness. Texture density rises
# with severity. Everything is drawn in currentColor, at low opacity, so it follows the page's
# text colour in light and dark themes and stays behind the score line.
_PATTERNS = {
    "mild": 'width="8" height="8"><circle cx="4" cy="4" r="1.1" fill="currentColor"'
    ' fill-opacity="0.45"/>',
    "moderate": 'width="10" height="10" patternTransform="rotate(45)"><path d="M0 0V10"'
    ' stroke="currentColor" stroke-width="1.2" stroke-opacity="0.28"/>',
    "moderately_severe": 'width="5" height="5" patternTransform="rotate(45)"><path d="M0 0V5"'
    ' stroke="currentColor" stroke-width="1" stroke-opacity="0.28"/>',
    "severe": 'width="6" height="6" patternTransform="rotate(45)"><path d="M0 0V6M0 0H6"'
    ' stroke="currentColor" stroke-width="1" stroke-opacity="0.32"/>',
}
# Where a score label may sit relative to its marker, (dx, dy, text-anchor), best first.
_LABEL_SPOTS = (
    (0, -12, "middle"),
    (9, -9, "start"),
    (-9, -9, "end"),
    (0, 20, "middle"),
    (9, 17, "start"),
    (-9, 17, "end"),
)


@dataclass(frozen=True)
class _Frame:
    """The plot area in viewBox units and the data ranges it maps."""

    left: float
    right: float
    top: float
    bottom: float
    start: datetime
    end: datetime
    max_score: int

    def x(self, at: datetime) -> float:
        return self.left + (at - self.start) / (self.end - self.start) * (self.right - self.left)

    def y(self, score: float) -> float:
        return self.bottom - score / self.max_score * (self.bottom - self.top)


def _n(value: float) -> str:
    """A coordinate with at most one decimal: small markup, no float noise."""
    return f"{value:.1f}".removesuffix(".0")


def _aware(at: datetime) -> datetime:
    # Stored times are UTC; SQLite hands them back naive, so naive means UTC here.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _local_day(at: datetime, tz: tzinfo | None) -> date:
    return at.astimezone(tz or UTC).date()


def _day_label(day: date, *, year: bool = True) -> str:
    short = f"{day.day} {_MONTHS[day.month - 1]}"
    return f"{short} {day.year}" if year else short


def _top(spec: Instrument) -> int:
    """The highest total ``spec`` can reach (Invalid when it has no total)."""
    if spec.max_score is None:
        message = f"{spec.name} has no total to chart."
        raise Invalid(message, {"instrument": [message]})
    return spec.max_score


def _sorted_points(spec: Instrument, points: Iterable[Point]) -> list[Point]:
    _top(spec)
    ordered = sorted(((_aware(at), score) for at, score in points), key=lambda point: point[0])
    for _, score in ordered:
        spec.band_for(score)  # Invalid for a total the instrument cannot produce
    return ordered


def render_measure_chart(
    instrument: Instrument,
    points: Sequence[Point],
    session_times: Iterable[datetime] = (),
    *,
    width: int = 640,
    height: int = 280,
    title: str | None = None,
    tz: tzinfo | None = None,
) -> Markup:
    """Inline ``<svg>`` of totals over time with severity bands and session markers.

    ``points`` are (when, total) in any order; ``session_times`` become dashed verticals.
    Times are UTC (naive ones are taken as UTC); dates are labelled in ``tz`` when given.
    The SVG has only a viewBox, so CSS scales it to its container: pick ``width`` near the
    width it will be shown at, as labels are sized in viewBox units.
    """
    spec = instrument
    ordered = _sorted_points(spec, points)
    sessions = sorted(_aware(at) for at in session_times)
    title_text = title if title is not None else f"{spec.name} scores over time"
    # A per-process counter keeps ids apart within one page render; the content hash keeps
    # them apart when fragments rendered by different worker processes share a page.
    digest = hashlib.sha256(repr((spec.code, ordered, sessions, title_text)).encode()).hexdigest()
    uid = f"mc{next(_chart_numbers)}-{digest[:8]}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' class="measure-chart" role="img" aria-labelledby="{uid}-title {uid}-desc"'
        ' fill="currentColor" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{uid}-title">{escape(title_text)}</title>',
        f'<desc id="{uid}-desc">{escape(_describe(spec, ordered, len(sessions), tz))}</desc>',
    ]
    if ordered:
        multi_year = _local_day(ordered[0][0], tz).year != _local_day(ordered[-1][0], tz).year
        frame = _frame(ordered, sessions, width, height, _top(spec), multi_year)
        parts += _bands(uid, spec, frame, width)
        parts += _axes(spec, frame, tz, multi_year, _local_day(ordered[0][0], tz))
        parts += _session_lines(frame, sessions, tz)
        parts += _series(spec, frame, ordered, [frame.x(at) for at in sessions], tz)
        parts += _legend(spec, frame, bool(sessions))
    else:
        parts += _empty_state(spec, width, height)
    parts.append("</svg>")
    # Every piece of text above went through escape(); the rest is markup built here.
    return Markup("".join(parts))  # noqa: S704


def measure_table_rows(
    instrument: Instrument, points: Sequence[Point], tz: tzinfo | None = None
) -> list[dict[str, object]]:
    """The chart's data as table rows, oldest first, for screen readers and print.

    Each row: ``date`` ("3 Mar 2025"), ``iso_date``, ``score``, ``severity``,
    ``severity_label``, ``change`` (int, from the first score) and ``change_label``
    ("Baseline", "+2", "No change", or a fall written with a minus sign, U+2212).
    """
    spec = instrument
    ordered = _sorted_points(spec, points)
    rows: list[dict[str, object]] = []
    for index, (at, score) in enumerate(ordered):
        band = spec.band_for(score)
        change = score - ordered[0][1]
        day = _local_day(at, tz)
        rows.append(
            {
                "date": _day_label(day),
                "iso_date": day.isoformat(),
                "score": score,
                "severity": band.severity,
                "severity_label": band.label,
                "change": change,
                "change_label": "Baseline" if index == 0 else _signed(change),
            }
        )
    return rows


def _signed(change: int) -> str:
    # A real minus sign: screen readers say "minus" instead of "dash".
    if change == 0:
        return "No change"
    return f"+{change}" if change > 0 else f"\u2212{-change}"


def _describe(spec: Instrument, points: list[Point], sessions: int, tz: tzinfo | None) -> str:
    if not points:
        return f"No {spec.name} check-ins yet."
    first, latest = points[0], points[-1]
    band = spec.band_for(latest[1]).label.lower()
    marked = f"; {sessions} session{'s' if sessions != 1 else ''} marked" if sessions else ""
    if len(points) == 1:
        day = _day_label(_local_day(first[0], tz))
        return f"1 {spec.name} check-in, on {day}: score {first[1]} ({band}){marked}."
    return (
        f"{len(points)} {spec.name} check-ins from {_day_label(_local_day(first[0], tz))}"
        f" to {_day_label(_local_day(latest[0], tz))}: first score {first[1]},"
        f" latest {latest[1]} ({band}){marked}."
    )


def _frame(
    points: list[Point],
    sessions: list[datetime],
    width: int,
    height: int,
    max_score: int,
    multi_year: bool,
) -> _Frame:
    times = [at for at, _ in points] + sessions
    start, end = min(times), max(times)
    # Pad the time range so end markers and their labels do not sit on the axes.
    # A lone check-in gets a day either side, so its own date has a labelled tick.
    pad = max((end - start) * 0.04, timedelta(days=1))
    return _Frame(
        left=34,
        right=width - 86,
        top=32,
        bottom=height - (42 if multi_year else 28),
        start=start - pad,
        end=end + pad,
        max_score=max_score,
    )


def _texture(spec: Instrument, index: int) -> str | None:
    """The band's texture: by its severity's name where the scale uses ours (PHQ-9, GAD-7),
    else by its rank, denser for higher bands; the lowest band stays blank."""
    band = spec.bands[index]
    if band.severity in _PATTERNS:
        return _PATTERNS[band.severity]
    if index == 0:
        return None
    ranked = list(_PATTERNS.values())
    return ranked[max(0, round(index * len(ranked) / (len(spec.bands) - 1)) - 1)]


def _wrap(label: str, per_line: int, max_lines: int) -> list[str]:
    """Words in lines of at most ``per_line`` characters (a longer word keeps a line of its
    own); past ``max_lines`` the last line ends in an ellipsis (the table has the words)."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: per_line - 1].rstrip() + "\u2026"
    return lines


def _bands(uid: str, spec: Instrument, frame: _Frame, width: int) -> list[str]:
    defs, shapes = ["<defs>"], []
    per_line = max(4, int((width - frame.right - 10) // _LABEL_CHAR_PX))
    for index, band in enumerate(spec.bands):
        top = frame.y(min(band.high + 0.5, _top(spec)))
        bottom = frame.y(max(band.low - 0.5, 0))
        fill = "none"  # the lowest band stays blank: "no texture" is a texture too
        if (texture := _texture(spec, index)) is not None:
            # By position, not by name: a clinic's own band names never reach an id.
            pattern_id = f"{uid}-b{index}"
            defs.append(
                f'<pattern id="{pattern_id}" patternUnits="userSpaceOnUse" {texture}</pattern>'
            )
            fill = f"url(#{pattern_id})"
        shapes.append(
            f'<rect class="band" x="{_n(frame.left)}" y="{_n(top)}"'
            f' width="{_n(frame.right - frame.left)}" height="{_n(bottom - top)}" fill="{fill}"/>'
        )
        if band.low > 0:  # a rule between bands, running on under the band labels
            shapes.append(
                f'<line x1="{_n(frame.left)}" x2="{width - 4}" y1="{_n(bottom)}" y2="{_n(bottom)}"'
                ' stroke="currentColor" stroke-opacity="0.4" stroke-width="1"/>'
            )
        # Lower case reads as a quiet label ("moderately severe"), but an acronym keeps its
        # capitals ("PTSD"); as many lines as the band has room for.
        words = band.label[:1].lower() + band.label[1:]
        lines = _wrap(words, per_line, max(1, int((bottom - top) // _LINE_PX)))
        middle = (top + bottom) / 2 - (len(lines) - 1) * _LINE_PX / 2
        # A space between the lines, so the label reads "moderately severe" as text too.
        spans = " ".join(
            f'<tspan x="{_n(frame.right + 8)}" dy="{_LINE_PX if i else 0}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        title = f"<title>{escape(band.label)}</title>" if " ".join(lines) != words else ""
        shapes.append(
            f'<text class="band-label" font-size="11" y="{_n(middle + 4)}">{title}{spans}</text>'
        )
    return [*defs, "</defs>", *shapes]


def _axes(
    spec: Instrument, frame: _Frame, tz: tzinfo | None, multi_year: bool, anchor: date
) -> list[str]:
    left, bottom = _n(frame.left), _n(frame.bottom)
    out = [
        f'<path d="M{left} {_n(frame.top)}V{bottom}H{_n(frame.right)}" fill="none"'
        ' stroke="currentColor" stroke-width="1"/>'
    ]
    for score in _y_ticks(spec, frame):
        y = _n(frame.y(score))
        out.append(
            f'<line x1="{_n(frame.left - 4)}" x2="{left}" y1="{y}" y2="{y}" stroke="currentColor"/>'
            f'<text class="y-tick" x="{_n(frame.left - 7)}" y="{y}" dy="4"'
            f' text-anchor="end">{score}</text>'
        )
    previous_year = None
    for at, day in _date_ticks(frame, tz, anchor):
        x = _n(frame.x(at))
        label = str(escape(_day_label(day, year=False)))
        if multi_year and day.year != previous_year:  # the year only where it changes
            label += f'<tspan x="{x}" dy="14">{day.year}</tspan>'
        previous_year = day.year
        out.append(
            f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{_n(frame.bottom + 4)}"'
            f' stroke="currentColor"/><text class="x-tick" x="{x}" y="{_n(frame.bottom + 17)}"'
            f' text-anchor="middle">{label}</text>'
        )
    return out


def _y_ticks(spec: Instrument, frame: _Frame) -> list[int]:
    """Each band's lower bound and the maximum: the numbers that matter clinically, leaving
    out a bound that would touch its neighbour (0 and the maximum always stay)."""
    top = _top(spec)
    kept = [top]
    for score in sorted({band.low for band in spec.bands if 0 < band.low < top}, reverse=True):
        clear_above = frame.y(score) - frame.y(kept[-1]) >= _Y_TICK_GAP_PX
        if clear_above and frame.y(0) - frame.y(score) >= _Y_TICK_GAP_PX:
            kept.append(score)
    return [0, *reversed(kept)]


def _date_ticks(frame: _Frame, tz: tzinfo | None, anchor: date) -> list[tuple[datetime, date]]:
    """Local midnights, a whole number of days apart, few enough that labels never touch.

    The ticks fall on the first check-in's day and every ``step`` days from it, so weekly
    check-ins line up with their date labels.
    """
    zone = tz or UTC
    first, last = _local_day(frame.start, zone), _local_day(frame.end, zone)
    room = max(2, int((frame.right - frame.left) // _DATE_LABEL_PX))
    span = (last - first).days
    step = next((s for s in _DAY_STEPS if span // s + 1 <= room), -(-span // (room - 1)))
    day = anchor - timedelta(days=step * ((anchor - first).days // step))
    ticks = []
    while day <= last:
        at = datetime(day.year, day.month, day.day, tzinfo=zone)
        if frame.start <= at <= frame.end:
            ticks.append((at, day))
        day += timedelta(days=step)
    return ticks


def _session_lines(frame: _Frame, sessions: list[datetime], tz: tzinfo | None) -> list[str]:
    return [
        f'<line class="session-marker" x1="{x}" x2="{x}" y1="{_n(frame.top)}"'
        f' y2="{_n(frame.bottom)}" stroke="currentColor" stroke-width="1.5"'
        f' stroke-dasharray="5 4" stroke-opacity="0.75">'
        f"<title>Session, {escape(_day_label(_local_day(at, tz)))}</title></line>"
        for at in sessions
        for x in [_n(frame.x(at))]
    ]


def _series(
    spec: Instrument,
    frame: _Frame,
    points: list[Point],
    session_xs: list[float],
    tz: tzinfo | None,
) -> list[str]:
    xy = [(frame.x(at), frame.y(score)) for at, score in points]
    out = []
    if len(xy) > 1:
        coordinates = " ".join(f"{_n(x)},{_n(y)}" for x, y in xy)
        out.append(
            f'<polyline class="score-line" points="{coordinates}" fill="none"'
            ' stroke="currentColor" stroke-width="2.25" stroke-linejoin="round"/>'
        )
    for (at, score), (x, y) in zip(points, xy, strict=True):
        text = f"{_day_label(_local_day(at, tz))}: {spec.name} {score}"
        text += f", {spec.band_for(score).label.lower()}"
        out.append(
            f'<circle class="point" cx="{_n(x)}" cy="{_n(y)}" r="4">'
            f"<title>{escape(text)}</title></circle>"
        )
    # The latest score gets a ring: it is the one a clinician looks for first.
    out.append(
        f'<circle class="latest-ring" cx="{_n(xy[-1][0])}" cy="{_n(xy[-1][1])}" r="7.5"'
        ' fill="none" stroke="currentColor" stroke-width="1.5"/>'
    )
    xs = [x for x, _ in xy]
    labelled: Sequence[int]
    if all(b - a >= _SCORE_LABEL_GAP_PX for a, b in itertools.pairwise(xs)):
        labelled = range(len(xy))
    elif xs[-1] - xs[0] >= 2 * _SCORE_LABEL_GAP_PX:
        labelled = (0, len(xy) - 1)
    else:
        labelled = (len(xy) - 1,)
    placed: list[tuple[float, float, float, float]] = []
    for index in labelled:
        out.append(_score_label(frame, xy, index, points[index][1], placed, session_xs))
    return out


def _label_box(
    x: float, y: float, spot: tuple[int, int, str], width: float
) -> tuple[float, float, float, float]:
    dx, dy, anchor = spot
    left = x + dx - {"start": 0, "middle": width / 2, "end": width}[anchor]
    return (left - 2, y + dy - 11, left + width + 2, y + dy + 2)


def _score_label(
    frame: _Frame,
    xy: list[tuple[float, float]],
    index: int,
    score: int,
    placed: list[tuple[float, float, float, float]],
    session_xs: list[float],
) -> str:
    """The score beside its marker, in the spot that hides the least of the chart."""
    x, y = xy[index]
    width = 7.5 * len(str(score))
    neighbours = [xy[i] for i in (index - 1, index + 1) if 0 <= i < len(xy)]
    line = [
        (x + (nx - x) * k / 12, y + (ny - y) * k / 12) for nx, ny in neighbours for k in range(13)
    ]

    def cost(ranked: tuple[int, tuple[int, int, str]]) -> float:
        rank, spot = ranked
        left, top, right, bottom = _label_box(x, y, spot, width)
        outside = left < frame.left or right > frame.right or top < frame.top - 4
        outside = outside or bottom > frame.bottom
        overlaps = sum(
            left < o[2] and o[0] < right and top < o[3] and o[1] < bottom for o in placed
        )
        on_line = sum(left <= px <= right and top <= py <= bottom for px, py in line)
        on_session = sum(left <= sx <= right for sx in session_xs)
        return 100 * outside + 50 * overlaps + 10 * on_line + 2 * on_session + rank / 10

    _, spot = min(enumerate(_LABEL_SPOTS), key=cost)
    placed.append(_label_box(x, y, spot, width))
    return (
        f'<text class="score-label" x="{_n(x + spot[0])}" y="{_n(y + spot[1])}"'
        f' text-anchor="{spot[2]}" font-weight="700">{score}</text>'
    )


def _legend(spec: Instrument, frame: _Frame, has_sessions: bool) -> list[str]:
    x, y = frame.left, 14
    label = f"{spec.name} score"
    out = [
        f'<g class="legend"><line x1="{_n(x)}" x2="{_n(x + 24)}" y1="{y}" y2="{y}"'
        f' stroke="currentColor" stroke-width="2.25"/><circle cx="{_n(x + 12)}" cy="{y}" r="4"/>'
        f'<text x="{_n(x + 30)}" y="{y + 4}">{escape(label)}</text>'
    ]
    if has_sessions:
        sx = x + 30 + 7 * len(label) + 18
        out.append(
            f'<line x1="{_n(sx)}" x2="{_n(sx)}" y1="{y - 8}" y2="{y + 8}" stroke="currentColor"'
            f' stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<text x="{_n(sx + 7)}" y="{y + 4}">session</text>'
        )
    out.append("</g>")
    return out


def _empty_state(spec: Instrument, width: int, height: int) -> list[str]:
    middle = height / 2
    return [
        f'<rect x="1" y="1" width="{width - 2}" height="{height - 2}" rx="8" fill="none"'
        ' stroke="currentColor" stroke-opacity="0.6" stroke-dasharray="6 4"/>',
        f'<text x="{_n(width / 2)}" y="{_n(middle)}" text-anchor="middle" font-size="18"'
        ' font-weight="600">No check-ins yet</text>',
        f'<text x="{_n(width / 2)}" y="{_n(middle + 24)}" text-anchor="middle">'
        f"{escape(spec.name)} scores will appear here after the first check-in.</text>",
    ]
