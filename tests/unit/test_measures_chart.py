"""The measures chart: well-formed, CSP-safe, accessible SVG, and its text-table twin."""

import itertools
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from markupsafe import Markup

from kap.services.errors import Invalid
from kap.services.measures.chart import measure_table_rows, render_measure_chart
from kap.services.measures.scoring import BUILT_IN, parse_definition

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
WEEKLY_PHQ9 = [(START + timedelta(weeks=i), s) for i, s in enumerate([19, 17, 15, 12, 10, 8, 6, 4])]
SESSIONS = [START + timedelta(days=d) for d in (2, 5, 9, 12, 16, 19)]
SIXTY = [(START + timedelta(days=3 * i), (i * 5) % 28) for i in range(60)]


def _parse(markup):
    """The chart as an element tree; fails the test if it is not well-formed XML."""
    return ET.fromstring(str(markup))  # noqa: S314 - our own output, not untrusted input


def _with_class(root, name):
    return [element for element in root.iter() if name in element.get("class", "").split()]


def _text(element):
    return "".join(element.itertext())


@pytest.mark.parametrize("points", [[], WEEKLY_PHQ9[:1], WEEKLY_PHQ9, SIXTY], ids=[0, 1, 8, 60])
def test_chart_is_well_formed_accessible_svg(points):
    """Every chart is an <svg role="img"> with a title, a description and only a viewBox size."""
    markup = render_measure_chart(BUILT_IN["phq9"], points, SESSIONS)
    assert isinstance(markup, Markup)
    root = _parse(markup)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("class") == "measure-chart"
    assert root.get("viewBox") == "0 0 640 280"
    assert root.get("width") is None and root.get("height") is None
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


@pytest.mark.parametrize("points", [[], WEEKLY_PHQ9[:1], WEEKLY_PHQ9, SIXTY], ids=[0, 1, 8, 60])
def test_chart_has_no_style_script_or_event_handlers(points):
    """Strict CSP: no <style>, no <script>, no style or on* attributes, no javascript: links."""
    markup = str(render_measure_chart(BUILT_IN["phq9"], points, SESSIONS, title="Mood"))
    for element in _parse(markup).iter():
        assert element.tag not in {f"{SVG}style", f"{SVG}script", f"{SVG}foreignObject"}
        for attribute in element.attrib:
            assert attribute != "style"
            assert not attribute.lower().startswith("on")
    assert "javascript:" not in markup.lower()


def test_hostile_title_is_escaped():
    """A title carrying markup stays text: no script element, and the title reads back as given."""
    hostile = '<script>alert("x")</script> & "quotes"'
    markup = str(render_measure_chart(BUILT_IN["phq9"], WEEKLY_PHQ9, title=hostile))
    root = _parse(markup)
    assert "<script" not in markup
    assert not any(element.tag.endswith("script") for element in root.iter())
    assert root.find(f"{SVG}title").text == hostile


def test_default_title_names_the_instrument():
    """Without a title the chart is called "<instrument> scores over time"."""
    root = _parse(render_measure_chart(BUILT_IN["gad7"], [(START, 3)]))
    assert root.find(f"{SVG}title").text == "GAD-7 scores over time"


def test_ids_are_unique_across_two_renders_of_the_same_data():
    """Two identical charts on one page share no id, and each fill points at its own pattern."""
    first, second = (_parse(render_measure_chart(BUILT_IN["phq9"], WEEKLY_PHQ9)) for _ in range(2))
    ids = [{e.get("id") for e in root.iter() if e.get("id")} for root in (first, second)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    for root, own in zip((first, second), ids, strict=True):
        patterns = {p.get("id") for p in root.iter(f"{SVG}pattern")}
        assert patterns <= own
        fills = {m for e in root.iter() for m in re.findall(r"url\(#([^)]+)\)", e.get("fill", ""))}
        assert fills and fills <= patterns


@pytest.mark.parametrize(("instrument", "bands"), [("phq9", 5), ("gad7", 4)])
def test_every_band_has_a_region_a_texture_and_a_label(instrument, bands):
    """Bands are told apart without colour: a region each, a distinct pattern, a text label."""
    root = _parse(render_measure_chart(BUILT_IN[instrument], [(START, 12)]))
    assert len(_with_class(root, "band")) == bands
    bodies = [ET.tostring(p) for p in root.iter(f"{SVG}pattern")]
    assert len(bodies) == bands - 1  # the minimal band is the blank one
    assert len({re.sub(rb'id="[^"]+"', b"", body) for body in bodies}) == bands - 1
    labels = [" ".join(_text(t).split()) for t in _with_class(root, "band-label")]
    expected = ["minimal", "mild", "moderate", "moderately severe", "severe"]
    assert labels == (expected if instrument == "phq9" else expected[:3] + expected[4:])


def test_y_axis_ticks_run_from_zero_to_the_maximum():
    """The y axis is labelled at each band's lower bound and at the maximum score."""
    root = _parse(render_measure_chart(BUILT_IN["phq9"], WEEKLY_PHQ9))
    assert [_text(t) for t in _with_class(root, "y-tick")] == ["0", "5", "10", "15", "20", "27"]
    root = _parse(render_measure_chart(BUILT_IN["gad7"], [(START, 3)]))
    assert [_text(t) for t in _with_class(root, "y-tick")] == ["0", "5", "10", "15", "21"]


@pytest.mark.parametrize(
    ("instrument", "score", "ticks"),
    [
        ("pcl5", 48, ["0", "33", "80"]),
        ("auditc", 5, ["0", "3", "4", "12"]),
        ("side_effects", 4, ["0", "6", "11", "15"]),  # 1 would touch 0
    ],
)
def test_longer_scales_get_their_own_ticks_textures_and_fitting_labels(instrument, score, ticks):
    """PCL-5 (0-80) and AUDIT-C (0-12) scale to their maximum with ticks at their cut-offs;
    each band above the lowest has a texture of its own; long band labels wrap into the
    margin, in as many lines as the band has room for, acronyms kept."""
    spec = BUILT_IN[instrument]
    for width in (640, 360):
        root = _parse(render_measure_chart(spec, [(START, score)], width=width))
        assert [_text(t) for t in _with_class(root, "y-tick")] == ticks
        bodies = [re.sub(rb'id="[^"]+"', b"", ET.tostring(p)) for p in root.iter(f"{SVG}pattern")]
        assert len(set(bodies)) == len(bodies) == len(spec.bands) - 1
        labels = _with_class(root, "band-label")
        assert len(labels) == len(spec.bands)
        for label in labels:
            lines = [_text(span) for span in label.iter(f"{SVG}tspan")]
            assert all(len(line) <= 12 for line in lines if " " in line)
    if instrument == "pcl5":
        words = " ".join(_text(t) for t in labels)
        assert "PTSD" in words and "cut-off (33)" in words


def test_a_clinics_band_names_never_reach_the_markup():
    """Ids come from positions: a hostile severity name stays out of the SVG."""
    spec = parse_definition(
        {
            "code": "own",
            "name": "Own",
            "options": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}],
            "items": [{"id": "1", "text": "a"}, {"id": "2", "text": "b"}],
            "scoring": {"bands": [[0, 0, 'x"/><script>', "None"], [1, 2, "y", "<b>Some</b>"]]},
        },
        clinic_id=1,
    )
    markup = str(render_measure_chart(spec, [(START, 1)]))
    _parse(markup)
    assert "<script>" not in markup and "<b>" not in markup and "&lt;b&gt;Some" in markup


def test_one_marker_per_point_and_a_line_through_them():
    """Eight check-ins draw eight markers joined by one line, each score labelled."""
    root = _parse(render_measure_chart(BUILT_IN["phq9"], WEEKLY_PHQ9, SESSIONS))
    assert len(_with_class(root, "point")) == 8
    assert len(_with_class(root, "score-line")) == 1
    labels = [_text(t) for t in _with_class(root, "score-label")]
    assert labels == ["19", "17", "15", "12", "10", "8", "6", "4"]


def test_points_are_drawn_in_time_order_whatever_the_input_order():
    """Shuffled points are sorted: the line runs left to right and starts at the first score."""
    shuffled = [WEEKLY_PHQ9[i] for i in (5, 2, 7, 0, 3, 6, 1, 4)]
    root = _parse(render_measure_chart(BUILT_IN["phq9"], shuffled))
    coordinates = _with_class(root, "score-line")[0].get("points").split()
    xs = [float(pair.split(",")[0]) for pair in coordinates]
    assert xs == sorted(xs)
    assert "first score 19, latest 4" in root.find(f"{SVG}desc").text


def test_single_point_draws_a_marker_and_no_line():
    """One check-in is one marker with its score, and no line."""
    root = _parse(render_measure_chart(BUILT_IN["phq9"], [(START, 12)]))
    assert len(_with_class(root, "point")) == 1
    assert _with_class(root, "score-line") == []
    assert [_text(t) for t in _with_class(root, "score-label")] == ["12"]
    assert _text(_with_class(root, "x-tick")[0]) == "3 Mar"
    desc = root.find(f"{SVG}desc").text
    assert desc == "1 PHQ-9 check-in, on 3 Mar 2025: score 12 (moderate)."


def test_empty_chart_says_no_check_ins_yet():
    """With no check-ins the chart is an empty state that says so, with no markers."""
    root = _parse(render_measure_chart(BUILT_IN["phq9"], [], SESSIONS))
    assert "No check-ins yet" in [_text(t) for t in root.iter(f"{SVG}text")]
    assert root.find(f"{SVG}desc").text == "No PHQ-9 check-ins yet."
    assert _with_class(root, "point") == [] and _with_class(root, "session-marker") == []


def test_session_times_become_dashed_markers_with_a_legend_entry():
    """Each session is one dashed vertical marker, and the legend explains "session"."""
    root = _parse(render_measure_chart(BUILT_IN["phq9"], WEEKLY_PHQ9, SESSIONS))
    markers = _with_class(root, "session-marker")
    assert len(markers) == 6
    assert all(m.get("stroke-dasharray") and m.get("x1") == m.get("x2") for m in markers)
    legend = _with_class(root, "legend")[0]
    assert "session" in _text(legend) and "PHQ-9 score" in _text(legend)
    assert "6 sessions marked" in root.find(f"{SVG}desc").text


def test_no_session_legend_without_sessions():
    """The legend lists "session" only when there are session markers to explain."""
    root = _parse(render_measure_chart(BUILT_IN["phq9"], WEEKLY_PHQ9))
    assert _with_class(root, "session-marker") == []
    assert "session" not in _text(_with_class(root, "legend")[0])


def test_sixty_points_keep_labels_apart():
    """Sixty check-ins: a marker each, a few well-spaced date labels, non-crowded score labels."""
    root = _parse(render_measure_chart(BUILT_IN["phq9"], SIXTY, SESSIONS))
    assert len(_with_class(root, "point")) == 60
    ticks = _with_class(root, "x-tick")
    xs = [float(t.get("x")) for t in ticks]
    assert 2 <= len(ticks) <= 10
    assert all(b - a >= 50 for a, b in itertools.pairwise(xs))
    scores = [_text(t) for t in _with_class(root, "score-label")]
    assert scores == [str(SIXTY[0][1]), str(SIXTY[-1][1])]


def test_multi_year_range_shows_the_year_where_it_changes():
    """Date labels carry the year on the first tick and where the year turns."""
    points = [(datetime(2024, 11, 1, 12, tzinfo=UTC) + timedelta(weeks=i), 10) for i in range(12)]
    root = _parse(render_measure_chart(BUILT_IN["gad7"], points))
    years = [y for t in _with_class(root, "x-tick") for y in re.findall(r"20\d\d", _text(t))]
    assert years == ["2024", "2025"]


def test_dates_are_labelled_in_the_given_time_zone():
    """A check-in at 02:00 UTC on 3 March is 2 March in New York."""
    at = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    assert (
        "on 2 Mar 2025"
        in _parse(render_measure_chart(BUILT_IN["phq9"], [(at, 5)], tz=new_york))
        .find(f"{SVG}desc")
        .text
    )
    assert measure_table_rows(BUILT_IN["phq9"], [(at, 5)], tz=new_york)[0]["date"] == "2 Mar 2025"
    assert measure_table_rows(BUILT_IN["phq9"], [(at, 5)])[0]["date"] == "3 Mar 2025"


def test_naive_datetimes_are_taken_as_utc():
    """Naive times (as SQLite returns them) sort and label as UTC alongside aware ones."""
    rows = measure_table_rows(BUILT_IN["gad7"], [(datetime(2025, 3, 4, 1, 0), 6), (START, 9)])
    assert [row["score"] for row in rows] == [9, 6]


def test_table_rows_give_date_score_severity_and_change_from_baseline():
    """The text table lists each check-in oldest first with its change from the first score."""
    rows = measure_table_rows(
        BUILT_IN["phq9"], [WEEKLY_PHQ9[1], WEEKLY_PHQ9[0], (START + timedelta(weeks=3), 19)]
    )
    assert rows[0] == {
        "date": "3 Mar 2025",
        "iso_date": "2025-03-03",
        "score": 19,
        "severity": "moderately_severe",
        "severity_label": "Moderately severe",
        "change": 0,
        "change_label": "Baseline",
    }
    assert (rows[1]["change"], rows[1]["change_label"]) == (-2, "\u22122")
    assert (rows[2]["change"], rows[2]["change_label"]) == (0, "No change")
    assert (
        measure_table_rows(BUILT_IN["gad7"], [(START, 3), (START + timedelta(days=7), 8)])[1][
            "change_label"
        ]
        == "+5"
    )
    assert measure_table_rows(BUILT_IN["phq9"], []) == []


def test_unscored_instrument_or_impossible_score_is_invalid():
    """The chart refuses a questionnaire without a total and a score it cannot produce."""
    unscored = parse_definition(
        {"code": "notes", "name": "Notes", "items": [{"id": "a", "text": "?"}]}
    )
    with pytest.raises(Invalid):
        render_measure_chart(unscored, [])
    with pytest.raises(Invalid):
        render_measure_chart(BUILT_IN["gad7"], [(START, 22)])
    with pytest.raises(Invalid):
        measure_table_rows(BUILT_IN["phq9"], [(START, -1)])
