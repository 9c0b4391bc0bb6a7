"""The questionnaire engine: published items, strict validation, bands at every boundary, alerts,
response and remission, and definitions checked as data."""

import dataclasses

import pytest

from kap.services.errors import Invalid
from kap.services.measures.scoring import BUILT_IN, parse_definition, score_answers, summarize

INSTRUMENTS = BUILT_IN
PHQ9, GAD7, PCL5, AUDITC = (BUILT_IN[code] for code in ("phq9", "gad7", "pcl5", "auditc"))


def _answers_for(total, count, top=3):
    """Answers that add up to ``total``: ``top`` first, then the remainder, then zeros."""
    answers = []
    for _ in range(count):
        answers.append(min(top, total))
        total -= answers[-1]
    assert total == 0
    return answers


def test_instruments_have_the_published_shape():
    """PHQ-9 has 9 scored items (27) and the unscored difficulty question; GAD-7 7 items
    scored to 21; PCL-5 20 items 0-4 (80); AUDIT-C 3 items 0-4 (12)."""
    assert set(INSTRUMENTS) >= {"phq9", "gad7", "pcl5", "auditc", "side_effects", "bladder"}
    assert (len(PHQ9.scored_items), len(PHQ9.items), PHQ9.max_score) == (9, 10, 27)
    assert PHQ9.items[9].id == "difficulty" and not PHQ9.items[9].scored
    assert not PHQ9.items[9].required
    assert (len(GAD7.items), GAD7.max_score) == (7, 21)
    assert (len(PCL5.items), PCL5.max_score) == (20, 80)
    assert (len(AUDITC.items), AUDITC.max_score) == (3, 12)
    assert tuple(option.label for option in PHQ9.items[0].options) == (
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    )
    assert INSTRUMENTS["phq9"].question.startswith("Over the last 2 weeks, how often")


def test_phq9_item9_is_the_self_harm_question():
    """The ninth PHQ-9 item asks about thoughts of being better off dead or self-harm."""
    assert INSTRUMENTS["phq9"].items[8].text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert INSTRUMENTS["gad7"].items[0].text == "Feeling nervous, anxious or on edge"
    assert (PHQ9.items[8].alert_kind, PHQ9.items[8].alert_at_least) == ("phq9_item9", 1)


def test_instruments_cannot_be_changed_at_run_time():
    """The instrument table is read-only, so nobody can swap a band or an item."""
    with pytest.raises(TypeError):
        INSTRUMENTS["phq9"] = INSTRUMENTS["gad7"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        INSTRUMENTS["phq9"].max_score = 30


def test_bands_cover_every_possible_score_exactly_once():
    """Each total from 0 to the maximum falls in one band and one only."""
    for spec in INSTRUMENTS.values():
        if not spec.scored:
            continue
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
    scored = score_answers(PHQ9, _answers_for(score, 9))
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
    scored = score_answers(GAD7, _answers_for(score, 7))
    assert (scored.score, scored.severity, scored.severity_label) == (score, severity, label)


def test_phq9_score_10_is_moderate():
    """A PHQ-9 of 10 is the first moderate score."""
    assert score_answers(PHQ9, [2, 2, 2, 2, 2, 0, 0, 0, 0]).severity == "moderate"


def test_scored_measure_keeps_answers_as_an_immutable_tuple():
    """The result records the answers as given, as a tuple, and cannot be altered."""
    scored = score_answers(GAD7, [0, 1, 2, 3, 0, 1, 2])
    assert scored.answers == (0, 1, 2, 3, 0, 1, 2)
    assert scored.instrument is GAD7
    with pytest.raises(dataclasses.FrozenInstanceError):
        scored.score = 0


def test_phq9_item9_positive_when_item9_is_above_zero():
    """Any answer above 0 on PHQ-9 item 9 flags it, even with an otherwise minimal total."""
    item9 = (("phq9_item9", "9"),)
    assert score_answers(PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, 1]).alerts == item9
    assert score_answers(PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, 3]).alerts == item9


def test_phq9_item9_negative_when_item9_is_zero_however_high_the_rest():
    """A severe PHQ-9 with item 9 at 0 does not flag item 9."""
    assert score_answers(PHQ9, [3, 3, 3, 3, 3, 3, 3, 3, 0]).alerts == ()


def test_gad7_never_flags_item9():
    """GAD-7 has no self-harm item, so item9_positive is always False."""
    assert score_answers(GAD7, [3, 3, 3, 3, 3, 3, 3]).alerts == ()


@pytest.mark.parametrize("answers", [None, "000000000", b"000000000", 5, {0, 1}])
def test_answers_that_are_not_a_list_are_invalid(answers):
    """Answers arrive as a list (or a mapping by item id); strings, sets and numbers are refused."""
    with pytest.raises(Invalid) as caught:
        score_answers(PHQ9, answers)
    assert caught.value.fields["answers"] == [
        "Answers must be a list of 10 answers, one per question."
    ]


def test_answers_by_item_id_score_like_a_list():
    """A mapping of item id to answer is the same check-in as the list in item order."""
    by_id = score_answers(GAD7, {str(n): 1 for n in range(1, 8)})
    assert (by_id.score, by_id.answers) == (7, (1,) * 7)
    with pytest.raises(Invalid) as caught:
        score_answers(GAD7, {"8": 1})
    assert caught.value.fields["answers"] == ["GAD-7 has no question 8."]


def test_phq9_difficulty_question_is_optional_and_never_counts():
    """The 10th PHQ-9 question is kept with the answers but adds nothing to the total."""
    assert score_answers(PHQ9, [1] * 9 + [3]).score == 9
    assert score_answers(PHQ9, [1] * 9 + [3]).answers[-1] == 3
    assert score_answers(PHQ9, [1] * 9).answers[-1] is None
    assert score_answers(PHQ9, [1] * 9 + [None]).score == 9


@pytest.mark.parametrize(
    ("instrument", "count", "expected"),
    [("phq9", 8, "9 to 10"), ("phq9", 11, "9 to 10"), ("gad7", 8, "7"), ("gad7", 0, "7")],
)
def test_wrong_number_of_answers_says_how_many_are_expected(instrument, count, expected):
    """Too few or too many answers is invalid, and the message gives the expected count."""
    with pytest.raises(Invalid) as caught:
        score_answers(BUILT_IN[instrument], [0] * count)
    (message,) = caught.value.fields["answers"]
    assert f"expected {expected} answers, got {count}" in message


@pytest.mark.parametrize("bad", [True, False, 2.0, 1.5, "2", [1], -1, 4, 99])
def test_answer_that_is_not_a_whole_number_from_0_to_3_is_invalid(bad):
    """Booleans, floats (even 2.0), strings, None and values outside 0 to 3 are refused."""
    answers = [0, 0, bad, 0, 0, 0, 0]
    with pytest.raises(Invalid) as caught:
        score_answers(GAD7, answers)
    assert caught.value.fields == {"answers": ["Answer 3 must be a whole number from 0 to 3."]}
    assert caught.value.message == "Answer 3 must be a whole number from 0 to 3."


def test_every_bad_answer_is_reported_at_once():
    """All bad answers are listed, numbered from 1, so the person can fix them in one go."""
    with pytest.raises(Invalid) as caught:
        score_answers(PHQ9, [4, 0, 0, True, 0, 0, 0, 0, -1])
    assert caught.value.fields["answers"] == [
        "Answer 1 must be a whole number from 0 to 3.",
        "Answer 4 must be a whole number from 0 to 3.",
        "Answer 9 must be a whole number from 0 to 3.",
    ]
    assert caught.value.message == "Some answers are not valid."


def test_a_tuple_of_answers_is_accepted():
    """Python callers may pass a tuple; it scores like the list from a JSON body."""
    assert score_answers(GAD7, (1, 1, 1, 1, 1, 1, 1)).score == 7


def test_a_missing_required_answer_is_named():
    """A skipped required question is reported by number; an optional one may be skipped."""
    with pytest.raises(Invalid) as caught:
        score_answers(GAD7, [0, 0, None, 0, 0, 0, 0])
    assert caught.value.fields == {"answers": ["Answer 3 needs an answer."]}


@pytest.mark.parametrize(("instrument", "score"), [("phq9", 28), ("gad7", 22), ("phq9", -1)])
def test_severity_for_a_total_out_of_range_is_invalid(instrument, score):
    """A total the instrument cannot produce has no severity."""
    with pytest.raises(Invalid):
        BUILT_IN[instrument].band_for(score)


def test_summary_of_a_course_reports_baseline_latest_and_change():
    """Baseline is the first score, latest the last; change is negative when scores fall."""
    summary = summarize(PHQ9, [19, 15, 12, 8])
    assert (summary.baseline, summary.latest, summary.change, summary.count) == (19, 8, -11, 4)
    assert summary.percent_change == pytest.approx(-57.9)
    assert summary.latest_severity == "mild"
    assert summary.latest_severity_label == "Mild"


def test_response_at_exactly_half_the_baseline():
    """A drop of exactly 50 % from baseline counts as a response."""
    summary = summarize(PHQ9, [20, 10])
    assert summary.response is True
    assert summary.percent_change == -50.0


def test_no_response_just_short_of_half():
    """A drop just under 50 % (20 to 11) is not a response."""
    assert summarize(PHQ9, [20, 11]).response is False
    assert summarize(GAD7, [21, 11]).response is False


def test_baseline_zero_cannot_respond():
    """A baseline of 0 cannot halve: no response and no percent change."""
    summary = summarize(PHQ9, [0, 0])
    assert summary.response is False
    assert summary.percent_change is None
    assert summary.change == 0


@pytest.mark.parametrize("instrument", ["phq9", "gad7"])
def test_latest_4_is_remission_and_latest_5_is_not(instrument):
    """Remission is a latest score under 5 on both instruments."""
    assert summarize(BUILT_IN[instrument], [16, 4]).remission is True
    assert summarize(BUILT_IN[instrument], [16, 5]).remission is False


def test_rising_scores_have_a_positive_change():
    """Worsening shows as a positive change and percent change, with no response."""
    summary = summarize(GAD7, [8, 12])
    assert (summary.change, summary.percent_change, summary.response) == (4, 50.0, False)


def test_empty_series_summary_is_all_none():
    """With no scores there is nothing to read out: Nones, and no response or remission."""
    summary = summarize(PHQ9, [])
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
    summary = summarize(PHQ9, [3])
    assert (summary.baseline, summary.latest, summary.change) == (3, 3, 0)
    assert summary.percent_change == 0.0
    assert (summary.response, summary.remission) == (False, False)
    assert summary.latest_severity == "minimal"


@pytest.mark.parametrize("scores", [[10, 28], [10, -1], [10, 2.0], [True, 3], ["10", 3]])
def test_summary_refuses_scores_that_are_not_totals(scores):
    """Series values must be whole-number totals within the instrument's range."""
    with pytest.raises(Invalid):
        summarize(PHQ9, scores)


# --- every shipped instrument at its band boundaries (table-driven) ---------------------------

BOUNDARIES = [
    ("pcl5", 0, "below_cutoff"),
    ("pcl5", 32, "below_cutoff"),
    ("pcl5", 33, "above_cutoff"),
    ("pcl5", 80, "above_cutoff"),
    ("auditc", 0, "negative"),
    ("auditc", 2, "negative"),
    ("auditc", 3, "positive_women"),
    ("auditc", 4, "positive"),
    ("auditc", 12, "positive"),
    ("side_effects", 0, "none"),
    ("side_effects", 1, "mild"),
    ("side_effects", 5, "mild"),
    ("side_effects", 6, "moderate"),
    ("side_effects", 10, "moderate"),
    ("side_effects", 11, "severe"),
    ("side_effects", 15, "severe"),
    ("bladder", 0, "none"),
    ("bladder", 1, "some"),
    ("bladder", 5, "some"),
    ("bladder", 6, "many"),
    ("bladder", 18, "many"),
]


@pytest.mark.parametrize(("code", "score", "severity"), BOUNDARIES)
def test_band_boundaries_of_every_other_instrument(code, score, severity):
    """PCL-5's provisional cut-off 33, AUDIT-C's thresholds 3 and 4, and the checks' bands."""
    spec = BUILT_IN[code]
    top = max(option.value for option in spec.items[0].options)
    # Fill the last items first, so no alerting item decides the band by accident.
    answers = list(reversed(_answers_for(score, len(spec.scored_items), top)))
    scored = score_answers(spec, answers)
    assert (scored.score, scored.severity) == (score, severity)


def test_pcl5_takes_twenty_answers_from_0_to_4():
    """PCL-5: 20 answers, each 0 (not at all) to 4 (extremely), total 0 to 80."""
    assert score_answers(PCL5, [4] * 20).score == 80
    with pytest.raises(Invalid) as caught:
        score_answers(PCL5, [5] + [0] * 19)
    assert caught.value.fields == {"answers": ["Answer 1 must be a whole number from 0 to 4."]}
    with pytest.raises(Invalid):
        score_answers(PCL5, [0] * 19)


def test_pcl5_response_is_a_10_point_drop_and_remission_below_the_cut_off():
    """PCL-5 change: 10 points is clinically meaningful; below 33 is under the cut-off."""
    assert summarize(PCL5, [50, 40]).response is True
    assert summarize(PCL5, [50, 41]).response is False
    assert summarize(PCL5, [50, 32]).remission is True
    assert summarize(PCL5, [50, 33]).remission is False


def test_a_severe_side_effect_raises_an_alert_and_a_moderate_one_does_not():
    """Any side effect rated 3 (severe) alerts the care team; 2 does not."""
    spec = BUILT_IN["side_effects"]
    assert score_answers(spec, [2, 2, 2, 2, 2]).alerts == ()
    assert score_answers(spec, [0, 0, 3, 0, 0]).alerts == (("side_effect_severe", "dissociation"),)


def test_blood_in_the_urine_raises_an_alert_at_once():
    """In the bladder check blood alerts from "sometimes"; pain from "often"."""
    spec = BUILT_IN["bladder"]
    assert score_answers(spec, [3, 3, 3, 1, 1, 0]).alerts == ()
    assert score_answers(spec, [0, 0, 0, 0, 0, 1]).alerts == (("bladder_symptoms", "blood"),)
    assert score_answers(spec, [0, 0, 0, 2, 0, 0]).alerts == (("bladder_symptoms", "pain"),)


def test_every_shipped_definition_names_its_source():
    """Each shipped instrument says where its text comes from (public domain or ours)."""
    for spec in BUILT_IN.values():
        assert spec.source, spec.code
        assert spec.built_in


# --- definitions are data, checked like input ----------------------------------------------


def _definition(**changes):
    base = {
        "code": "sleep",
        "name": "Sleep check",
        "options": [{"value": 0, "label": "No"}, {"value": 2, "label": "Yes"}],
        "scoring": {"bands": [[0, 1, "low", "Low"], [2, 4, "high", "High"]]},
        "items": [
            {"id": "a", "text": "Trouble falling asleep?"},
            {"id": "b", "text": "Woke too early?"},
            {
                "id": "hours",
                "text": "Hours slept last night",
                "kind": "number",
                "min": 0,
                "max": 24,
                "scored": False,
            },
            {"id": "notes", "text": "Anything else?", "kind": "text", "required": False},
        ],
    }
    return base | changes


def test_a_clinic_definition_with_choices_numbers_and_text_scores():
    """Choice items count, the number and the text are kept, the total is banded."""
    spec = parse_definition(_definition(), clinic_id=7)
    assert (spec.max_score, spec.clinic_id, spec.built_in) == (4, 7, False)
    scored = score_answers(spec, [2, 0, 7, "Noisy street"])
    assert (scored.score, scored.severity, scored.answers) == (2, "high", (2, 0, 7, None))
    assert dict(scored.texts) == {"notes": "Noisy street"}
    with pytest.raises(Invalid) as caught:
        score_answers(spec, [1, 0, 25, 5])
    assert caught.value.fields["answers"] == [
        "Answer 1 must be one of 0, 2.",
        "Answer 3 must be from 0 to 24.",
        "Answer 4 must be text.",
    ]


def test_a_definition_without_scoring_has_no_total():
    """Free-text questionnaires are kept, not scored."""
    only_text = {"scoring": None, "options": None, "items": [{"id": "x", "text": "Tell us"}]}
    spec = parse_definition(_definition(**only_text))
    scored = score_answers(spec, ["All fine"])
    assert (spec.scored, scored.score, scored.severity) == (False, None, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "no spaces"}, "code"),
        ({"name": ""}, "name"),
        ({"items": []}, "items"),
        ({"items": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}, "items"),
        ({"scoring": {"bands": [[0, 1, "low", "Low"]]}}, "scoring.bands"),
        ({"scoring": {"max": 9, "bands": []}}, "scoring.max"),
        ({"options": [{"value": 0, "label": "A"}, {"value": 0, "label": "B"}]}, "items.1.options"),
    ],
)
def test_a_definition_with_a_mistake_is_refused_with_the_field_named(changes, field):
    """Bad definitions never reach a patient: every mistake is named by where it is."""
    with pytest.raises(Invalid) as caught:
        parse_definition(_definition(**changes))
    assert field in caught.value.fields
