"""PHQ-9 and GAD-7: published items, strict validation, severity bands, response and remission."""

import dataclasses

import pytest

from kap.services.errors import Invalid
from kap.services.measures.scoring import (
    ANSWER_CHOICES,
    INSTRUMENTS,
    score_answers,
    severity_for,
    summarize,
)


def _answers_for(total, count):
    """Answers that add up to ``total``: threes first, then the remainder, then zeros."""
    answers = []
    for _ in range(count):
        answers.append(min(3, total))
        total -= answers[-1]
    assert total == 0
    return answers


def test_instruments_have_the_published_shape():
    """PHQ-9 has 9 items scored to 27, GAD-7 has 7 items scored to 21, both on four choices."""
    assert set(INSTRUMENTS) == {"phq9", "gad7"}
    assert (len(INSTRUMENTS["phq9"].items), INSTRUMENTS["phq9"].max_score) == (9, 27)
    assert (len(INSTRUMENTS["gad7"].items), INSTRUMENTS["gad7"].max_score) == (7, 21)
    assert ANSWER_CHOICES == (
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    )
    assert INSTRUMENTS["phq9"].question.startswith("Over the last 2 weeks, how often")


def test_phq9_item9_is_the_self_harm_question():
    """The ninth PHQ-9 item asks about thoughts of being better off dead or self-harm."""
    assert INSTRUMENTS["phq9"].items[8] == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert INSTRUMENTS["gad7"].items[0] == "Feeling nervous, anxious or on edge"


def test_instruments_cannot_be_changed_at_run_time():
    """The instrument table is read-only, so nobody can swap a band or an item."""
    with pytest.raises(TypeError):
        INSTRUMENTS["phq9"] = INSTRUMENTS["gad7"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        INSTRUMENTS["phq9"].max_score = 30


def test_bands_cover_every_possible_score_exactly_once():
    """Each total from 0 to the maximum falls in one band and one only."""
    for spec in INSTRUMENTS.values():
        for score in range(spec.max_score + 1):
            assert sum(band.contains(score) for band in spec.bands) == 1


@pytest.mark.parametrize(
    ("score", "severity", "label"),
    [
        (0, "minimal", "Minimal"),
        (4, "minimal", "Minimal"),
        (5, "mild", "Mild"),
        (9, "mild", "Mild"),
        (10, "moderate", "Moderate"),
        (14, "moderate", "Moderate"),
        (15, "moderately_severe", "Moderately severe"),
        (19, "moderately_severe", "Moderately severe"),
        (20, "severe", "Severe"),
        (27, "severe", "Severe"),
    ],
)
def test_phq9_band_boundaries(score, severity, label):
    """PHQ-9 bands: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27."""
    scored = score_answers("phq9", _answers_for(score, 9))
    assert (scored.score, scored.severity, scored.severity_label) == (score, severity, label)


@pytest.mark.parametrize(
    ("score", "severity", "label"),
    [
        (0, "minimal", "Minimal"),
        (4, "minimal", "Minimal"),
        (5, "mild", "Mild"),
        (9, "mild", "Mild"),
        (10, "moderate", "Moderate"),
        (14, "moderate", "Moderate"),
        (15, "severe", "Severe"),
        (21, "severe", "Severe"),
    ],
)
def test_gad7_band_boundaries(score, severity, label):
    """GAD-7 bands: 0-4 minimal, 5-9 mild, 10-14 moderate and 15-21 severe."""
    scored = score_answers("gad7", _answers_for(score, 7))
    assert (scored.score, scored.severity, scored.severity_label) == (score, severity, label)


def test_phq9_score_10_is_moderate():
    """A PHQ-9 of 10 is the first moderate score."""
    assert score_answers("phq9", [2, 2, 2, 2, 2, 0, 0, 0, 0]).severity == "moderate"


def test_scored_measure_keeps_answers_as_an_immutable_tuple():
    """The result records the answers as given, as a tuple, and cannot be altered."""
    scored = score_answers("gad7", [0, 1, 2, 3, 0, 1, 2])
    assert scored.answers == (0, 1, 2, 3, 0, 1, 2)
    assert scored.instrument == "gad7"
    with pytest.raises(dataclasses.FrozenInstanceError):
        scored.score = 0


def test_phq9_item9_positive_when_item9_is_above_zero():
    """Any answer above 0 on PHQ-9 item 9 flags it, even with an otherwise minimal total."""
    assert score_answers("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 1]).item9_positive is True
    assert score_answers("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 3]).item9_positive is True


def test_phq9_item9_negative_when_item9_is_zero_however_high_the_rest():
    """A severe PHQ-9 with item 9 at 0 does not flag item 9."""
    assert score_answers("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0]).item9_positive is False


def test_gad7_never_flags_item9():
    """GAD-7 has no self-harm item, so item9_positive is always False."""
    assert score_answers("gad7", [3, 3, 3, 3, 3, 3, 3]).item9_positive is False


@pytest.mark.parametrize("instrument", ["phq", "PHQ9", "gad-7", "", None, 9])
def test_unknown_instrument_is_invalid(instrument):
    """Only "phq9" and "gad7" are instruments; anything else is a field error on instrument."""
    with pytest.raises(Invalid) as caught:
        score_answers(instrument, [0] * 9)
    assert list(caught.value.fields) == ["instrument"]


@pytest.mark.parametrize("answers", [None, "000000000", b"000000000", {"1": 0}, 5, {0, 1}])
def test_answers_that_are_not_a_list_are_invalid(answers):
    """Answers must arrive as a list; strings, mappings, sets and numbers are refused."""
    with pytest.raises(Invalid) as caught:
        score_answers("phq9", answers)
    assert caught.value.fields["answers"] == [
        "Answers must be a list of 9 numbers, one per question."
    ]


@pytest.mark.parametrize(
    ("instrument", "count"), [("phq9", 8), ("phq9", 10), ("gad7", 9), ("gad7", 0)]
)
def test_wrong_number_of_answers_says_how_many_are_expected(instrument, count):
    """Too few or too many answers is invalid, and the message gives the expected count."""
    expected = len(INSTRUMENTS[instrument].items)
    with pytest.raises(Invalid) as caught:
        score_answers(instrument, [0] * count)
    (message,) = caught.value.fields["answers"]
    assert f"expected {expected} answers, got {count}" in message


@pytest.mark.parametrize("bad", [True, False, 2.0, 1.5, "2", None, [1], -1, 4, 99])
def test_answer_that_is_not_a_whole_number_from_0_to_3_is_invalid(bad):
    """Booleans, floats (even 2.0), strings, None and values outside 0 to 3 are refused."""
    answers = [0, 0, bad, 0, 0, 0, 0]
    with pytest.raises(Invalid) as caught:
        score_answers("gad7", answers)
    assert caught.value.fields == {"answers": ["Answer 3 must be a whole number from 0 to 3."]}
    assert caught.value.message == "Answer 3 must be a whole number from 0 to 3."


def test_every_bad_answer_is_reported_at_once():
    """All bad answers are listed, numbered from 1, so the person can fix them in one go."""
    with pytest.raises(Invalid) as caught:
        score_answers("phq9", [4, 0, 0, True, 0, 0, 0, 0, -1])
    assert caught.value.fields["answers"] == [
        "Answer 1 must be a whole number from 0 to 3.",
        "Answer 4 must be a whole number from 0 to 3.",
        "Answer 9 must be a whole number from 0 to 3.",
    ]
    assert caught.value.message == "Some answers are not valid."


def test_a_tuple_of_answers_is_accepted():
    """Python callers may pass a tuple; it scores like the list from a JSON body."""
    assert score_answers("gad7", (1, 1, 1, 1, 1, 1, 1)).score == 7


@pytest.mark.parametrize(("instrument", "score"), [("phq9", 28), ("gad7", 22), ("phq9", -1)])
def test_severity_for_a_total_out_of_range_is_invalid(instrument, score):
    """A total the instrument cannot produce has no severity."""
    with pytest.raises(Invalid):
        severity_for(instrument, score)


def test_summary_of_a_course_reports_baseline_latest_and_change():
    """Baseline is the first score, latest the last; change is negative when scores fall."""
    summary = summarize("phq9", [19, 15, 12, 8])
    assert (summary.baseline, summary.latest, summary.change, summary.count) == (19, 8, -11, 4)
    assert summary.percent_change == pytest.approx(-57.9)
    assert summary.latest_severity == "mild"
    assert summary.latest_severity_label == "Mild"


def test_response_at_exactly_half_the_baseline():
    """A drop of exactly 50 % from baseline counts as a response."""
    summary = summarize("phq9", [20, 10])
    assert summary.response is True
    assert summary.percent_change == -50.0


def test_no_response_just_short_of_half():
    """A drop just under 50 % (20 to 11) is not a response."""
    assert summarize("phq9", [20, 11]).response is False
    assert summarize("gad7", [21, 11]).response is False


def test_baseline_zero_cannot_respond():
    """A baseline of 0 cannot halve: no response and no percent change."""
    summary = summarize("phq9", [0, 0])
    assert summary.response is False
    assert summary.percent_change is None
    assert summary.change == 0


@pytest.mark.parametrize("instrument", ["phq9", "gad7"])
def test_latest_4_is_remission_and_latest_5_is_not(instrument):
    """Remission is a latest score under 5 on both instruments."""
    assert summarize(instrument, [16, 4]).remission is True
    assert summarize(instrument, [16, 5]).remission is False


def test_rising_scores_have_a_positive_change():
    """Worsening shows as a positive change and percent change, with no response."""
    summary = summarize("gad7", [8, 12])
    assert (summary.change, summary.percent_change, summary.response) == (4, 50.0, False)


def test_empty_series_summary_is_all_none():
    """With no scores there is nothing to read out: Nones, and no response or remission."""
    summary = summarize("phq9", [])
    assert summary.count == 0
    assert (summary.baseline, summary.latest, summary.change, summary.percent_change) == (
        None,
        None,
        None,
        None,
    )
    assert (summary.response, summary.remission, summary.latest_severity) == (False, False, None)


def test_single_score_is_a_baseline_not_an_outcome():
    """One score gives baseline = latest and no change, and cannot yet be response or remission."""
    summary = summarize("phq9", [3])
    assert (summary.baseline, summary.latest, summary.change) == (3, 3, 0)
    assert summary.percent_change == 0.0
    assert (summary.response, summary.remission) == (False, False)
    assert summary.latest_severity == "minimal"


@pytest.mark.parametrize("scores", [[10, 28], [10, -1], [10, 2.0], [True, 3], ["10", 3]])
def test_summary_refuses_scores_that_are_not_totals(scores):
    """Series values must be whole-number totals within the instrument's range."""
    with pytest.raises(Invalid):
        summarize("phq9", scores)
