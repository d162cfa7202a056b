"""Every question type marks right, wrong, partial, blank and malformed answers, and survives GIFT."""
from __future__ import annotations

import random
from decimal import Decimal

import pytest

from lms.assessment import gift
from lms.assessment.questions import GIFT_TO_KIND, QUESTION_TYPES, AnswerError, data_from_gift, question_type

SINGLE = {"choices": [{"id": "c1", "text": "2007", "weight": 100, "feedback": "Right: September 2007."},
                      {"id": "c2", "text": "2008", "weight": 0, "feedback": "That is when inspection began."},
                      {"id": "c3", "text": "2011", "weight": 25, "feedback": "Close to a later change."}]}
MULTIPLE = {"choices": [{"id": "a", "text": "Teaching", "weight": 50, "feedback": "A strand."},
                        {"id": "b", "text": "Equity", "weight": 50, "feedback": "A strand."},
                        {"id": "c", "text": "Parking", "weight": -50, "feedback": "Not a strand."},
                        {"id": "d", "text": "Catering", "weight": -50, "feedback": "Not a strand."}]}
TRUEFALSE = {"answer": True, "feedback_true": "Yes, it remained.", "feedback_false": "No: the duty remained."}
SHORT = {"answers": [{"text": "Cantle", "weight": 100, "feedback": "Yes."},
                     {"text": "Cantle report", "weight": 100, "feedback": "Yes."},
                     {"text": "Home Office", "weight": 50, "feedback": "It published it."}], "case_sensitive": False}
NUMERIC = {"answers": [{"value": "60", "tolerance": "0", "low": None, "high": None, "weight": 100, "feedback": "Yes."},
                       {"value": None, "tolerance": None, "low": "40", "high": "59", "weight": 50,
                        "feedback": "That is the level-7 minimum."}]}
MATCHING = {"pairs": [{"id": "p1", "left": "PGCert", "right": "60"}, {"id": "p2", "left": "PGDip", "right": "120"},
                      {"id": "p3", "left": "Master's", "right": "180"}], "extra": ["240"]}
ORDERING = {"items": [{"id": "i1", "text": "Questionnaire"}, {"id": "i2", "text": "Visioning event"},
                      {"id": "i3", "text": "Priorities"}, {"id": "i4", "text": "Action plan"}]}


def presented(kind, data, seed=1):
    return question_type(kind).present(data, random.Random(seed))


def grade(kind, data, values):
    qtype = question_type(kind)
    answer = qtype.parse_answer(values, presented(kind, data))
    return qtype.grade(data, answer)


def test_registry_holds_the_eight_types():
    assert set(QUESTION_TYPES) == {"single", "multiple", "truefalse", "short", "numeric", "matching", "ordering",
                                   "essay"}


@pytest.mark.parametrize("values, fraction, feedback", [
    (["c1"], 1, "Right: September 2007."),
    (["c2"], 0, "That is when inspection began."),
    (["c3"], Decimal("0.25"), "Close to a later change."),
    ([], 0, None),
])
def test_single_choice(values, fraction, feedback):
    result = grade("single", SINGLE, values)
    assert result.fraction == Decimal(fraction)
    assert (result.feedback == [feedback]) if feedback else result.feedback == []


@pytest.mark.parametrize("values", [["c9"], ["c1", "c2"], ["<script>"]])
def test_single_choice_malformed(values):
    with pytest.raises(AnswerError):
        grade("single", SINGLE, values)


@pytest.mark.parametrize("values, fraction", [
    (["a", "b"], 1), (["a"], Decimal("0.5")), (["a", "b", "c"], Decimal("0.5")), (["a", "c"], 0),
    (["c", "d"], 0), (["a", "b", "c", "d"], 0), ([], 0),
])
def test_multiple_response_partial_credit_and_penalty(values, fraction):
    assert grade("multiple", MULTIPLE, values).fraction == Decimal(fraction)


def test_multiple_response_malformed():
    with pytest.raises(AnswerError):
        grade("multiple", MULTIPLE, ["a", "zz"])


@pytest.mark.parametrize("values, fraction, feedback", [
    (["true"], 1, ["Yes, it remained."]), (["false"], 0, ["No: the duty remained."]), ([], 0, []),
])
def test_true_false(values, fraction, feedback):
    result = grade("truefalse", TRUEFALSE, values)
    assert result.fraction == fraction and result.feedback == feedback


@pytest.mark.parametrize("values", [["maybe"], ["true", "false"]])
def test_true_false_malformed(values):
    with pytest.raises(AnswerError):
        grade("truefalse", TRUEFALSE, values)


@pytest.mark.parametrize("values, fraction", [
    (["Cantle"], 1), (["  cantle   REPORT "], 1), (["Home Office"], Decimal("0.5")), (["Casey"], 0), ([""], 0),
])
def test_short_answer_ignores_case_and_spaces(values, fraction):
    assert grade("short", SHORT, values).fraction == Decimal(fraction)


def test_short_answer_case_sensitive_when_the_author_says_so():
    data = dict(SHORT, case_sensitive=True)
    assert grade("short", data, ["cantle"]).fraction == 0
    assert grade("short", data, [" Cantle "]).fraction == 1


def test_short_answer_malformed():
    with pytest.raises(AnswerError):
        grade("short", SHORT, ["x" * 501])


@pytest.mark.parametrize("values, fraction", [
    (["60"], 1), (["60.0"], 1), (["45"], Decimal("0.5")), (["61"], 0), ([""], 0), (["1,000"], 0),
])
def test_numeric_value_tolerance_and_range(values, fraction):
    assert grade("numeric", NUMERIC, values).fraction == Decimal(fraction)


def test_numeric_tolerance():
    data = {"answers": [{"value": "3.5", "tolerance": "0.25", "weight": 100}]}
    assert grade("numeric", data, ["3.7"]).fraction == 1
    assert grade("numeric", data, ["3.8"]).fraction == 0


@pytest.mark.parametrize("values", [["sixty"], ["NaN"], ["inf"], ["1e999999999"]])
def test_numeric_malformed(values):
    with pytest.raises(AnswerError):
        grade("numeric", NUMERIC, values)


def test_matching_credit_per_pair():
    assert grade("matching", MATCHING, ["p1=60", "p2=120", "p3=180"]).fraction == 1
    assert grade("matching", MATCHING, ["p1=60", "p2=180", "p3=120"]).fraction == Decimal(1) / 3
    assert grade("matching", MATCHING, ["p1=240"]).fraction == 0
    assert grade("matching", MATCHING, []).fraction == 0
    with pytest.raises(AnswerError):
        grade("matching", MATCHING, ["p1=999"])
    with pytest.raises(AnswerError):
        grade("matching", MATCHING, ["p9=60"])


def test_matching_presents_extra_answers_and_no_pairing():
    shown = presented("matching", MATCHING)
    assert sorted(shown["answers"]) == ["120", "180", "240", "60"]
    assert "right" not in str(shown["prompts"])


def test_ordering_credit_per_position():
    assert grade("ordering", ORDERING, ["i1=1", "i2=2", "i3=3", "i4=4"]).fraction == 1
    assert grade("ordering", ORDERING, ["i1=1", "i2=2", "i3=4", "i4=3"]).fraction == Decimal("0.5")
    assert grade("ordering", ORDERING, ["i2=2"]).fraction == Decimal("0.25")
    assert grade("ordering", ORDERING, []).fraction == 0
    with pytest.raises(AnswerError):
        grade("ordering", ORDERING, ["i1=1", "i2=1"])
    with pytest.raises(AnswerError):
        grade("ordering", ORDERING, ["i1=9"])


def test_ordering_is_shown_shuffled():
    shown = presented("ordering", ORDERING)
    assert [i["id"] for i in shown["items"]] != ["i1", "i2", "i3", "i4"]


def test_essay_needs_a_person():
    result = grade("essay", {}, ["My answer."])
    assert result.needs_marking and result.fraction == 0
    assert not grade("essay", {}, []).needs_marking


def test_presented_choices_carry_no_weights_or_feedback():
    shown = presented("single", SINGLE)
    text = repr(shown)
    assert "weight" not in text and "feedback" not in text and "Right:" not in text


def test_shuffle_is_fixed_by_the_seed():
    assert presented("single", SINGLE, seed=7) == presented("single", SINGLE, seed=7)
    orders = {tuple(o["id"] for o in presented("single", SINGLE, seed=s)["options"]) for s in range(20)}
    assert len(orders) > 1


@pytest.mark.parametrize("kind, data, problem", [
    ("single", {"choices": [{"id": "a", "text": "Only", "weight": 100}]}, "at least two"),
    ("single", {"choices": [{"id": "a", "text": "A", "weight": 0}, {"id": "b", "text": "B", "weight": 0}]},
     "one choice as right"),
    ("multiple", {"choices": [{"id": "a", "text": "A", "weight": 50}, {"id": "b", "text": "B", "weight": 0}]},
     "add up to 100"),
    ("short", {"answers": []}, "fully right answer"),
    ("numeric", {"answers": [{"low": "5", "high": "1"}]}, "low end"),
    ("matching", {"pairs": [{"id": "p", "left": "a", "right": "b"}]}, "two pairs"),
    ("ordering", {"items": [{"id": "a", "text": "x"}]}, "three items"),
    ("truefalse", {}, "true or false"),
])
def test_validation(kind, data, problem):
    assert any(problem in message for message in question_type(kind).validate(data))


GIFT_SAMPLES = {
    "single": "::S::Which year? {=2007#Yes ~2008#No ~%25%2011#Close}",
    "multiple": "::M::Which strands? {~%50%Teaching#Yes ~%50%Equity#Yes ~%-100%Parking#No}",
    "truefalse": "::T::The duty remained. {T#Wrong choice#Right choice}",
    "short": "::SA::Who led the 2001 review? {=Cantle#Yes =%50%Home Office#Partly}",
    "numeric": "::N::Credits for a PGCert? {#=60:0#Yes =%50%50:10#Near}",
    "matching": "::Ma::Match awards to credits. {=PGCert -> 60 =PGDip -> 120 =Master's -> 180}",
    "essay": "::E::Describe one partnership. {}",
    "ordering": "::O::Put the stages in order. {>Questionnaire >Visioning event >Priorities >Action plan}",
}


@pytest.mark.parametrize("kind", sorted(GIFT_SAMPLES))
def test_gift_round_trip_through_the_question_type(kind):
    from lms.assessment.bank import to_gift_question
    parsed = gift.parse_gift(GIFT_SAMPLES[kind])[0]
    assert GIFT_TO_KIND[parsed.kind] == kind
    data = data_from_gift(parsed)

    class Row:  # the shape of a Question row that to_gift_question reads
        pass
    row = Row()
    row.kind, row.title, row.text, row.general_feedback, row.text_format, row.data = (
        kind, parsed.title, parsed.text, parsed.general_feedback, parsed.text_format, data)
    row.category = type("C", (), {"name": None})()
    again = gift.parse_gift(gift.to_gift([to_gift_question(row)]))[0]
    assert data_from_gift(again) == data and again.text == parsed.text and again.title == parsed.title
