"""GIFT: reading every kind of question, reporting errors by line, and writing it back."""
from __future__ import annotations

import random
import textwrap
from decimal import Decimal as D
from pathlib import Path

import pytest

from lms.assessment.gift import (
    BLANK, GiftAnswer, GiftError, GiftQuestion, MatchPair, NumericAnswer, parse_gift, to_gift,
)

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "content" / "courses").glob("*/*/quiz.gift"))


def gift(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def one(text: str) -> GiftQuestion:
    questions = parse_gift(gift(text))
    assert len(questions) == 1, questions
    return questions[0]


def errors_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(GiftError) as caught:
        parse_gift(gift(text))
    return caught.value.errors


def round_trips(questions: list[GiftQuestion]) -> bool:
    return parse_gift(to_gift(questions)) == questions


# Kinds ---------------------------------------------------------------------------------------

def test_single_choice_with_feedback_partial_credit_and_general_feedback():
    q = one("""
        ::Berry::Which strategy? {
          =Integration #Right.
          ~%50%Assimilation #Half right.
          ~Separation
          ~%-25%Marginalisation #Wrong.
          ####Think of Berry's two questions.
        }
    """)
    assert q.kind == "single" and q.title == "Berry" and q.text == "Which strategy?"
    assert q.answers == [
        GiftAnswer("Integration", D(100), "Right."),
        GiftAnswer("Assimilation", D(50), "Half right."),
        GiftAnswer("Separation", D(0), ""),
        GiftAnswer("Marginalisation", D(-25), "Wrong."),
    ]
    assert q.general_feedback == "Think of Berry's two questions."
    assert q.category is None and q.text_format == "moodle" and q.line == 1


def test_single_choice_on_one_line():
    q = one("Capital of France? {=Paris ~London ~Berlin}")
    assert q.kind == "single" and [a.text for a in q.answers] == ["Paris", "London", "Berlin"]
    assert [a.weight for a in q.answers] == [100, 0, 0]


def test_multiple_response_with_negative_weights():
    q = one("""
        Select all that apply. {
          ~%50%Language #Yes.
          ~%50%Safety
          ~%-50%Employment #No.
          ~%-100%Nothing
        }
    """)
    assert q.kind == "multiple"
    assert [(a.text, a.weight, a.feedback) for a in q.answers] == [
        ("Language", 50, "Yes."), ("Safety", 50, ""), ("Employment", -50, "No."), ("Nothing", -100, "")]


def test_multiple_response_allows_rounding_of_thirds():
    q = one("Pick three. {~%33.33333%a ~%33.33333%b ~%33.33333%c ~%-33.33333%d}")
    assert q.kind == "multiple" and q.answers[3].weight == D("-33.33333")


@pytest.mark.parametrize("word, truth", [("T", True), ("TRUE", True), ("F", False), ("FALSE", False),
                                         ("true", True), ("f", False)])
def test_true_false_words(word, truth):
    q = one(f"The sky is blue. {{{word}}}")
    assert q.kind == "truefalse" and q.truth is truth
    assert q.true_feedback == q.false_feedback == ""


def test_true_false_feedback_is_stored_by_the_choice_the_learner_makes():
    # Moodle: {T#shown for a wrong answer#shown for a right answer}.
    true_q = one("It is true. {T#You chose False: wrong.#You chose True: right.####General.}")
    assert true_q.truth is True
    assert true_q.false_feedback == "You chose False: wrong."
    assert true_q.true_feedback == "You chose True: right."
    assert true_q.general_feedback == "General."
    false_q = one("It is false. {FALSE#You chose True: wrong.#You chose False: right.}")
    assert false_q.truth is False
    assert false_q.true_feedback == "You chose True: wrong."
    assert false_q.false_feedback == "You chose False: right."


def test_true_false_with_only_the_wrong_answer_feedback():
    q = one("It is false. {F#Not so.}")
    assert (q.true_feedback, q.false_feedback) == ("Not so.", "")


def test_short_answer_with_several_answers_and_weights():
    q = one("""
        ::Term::Type the term. {
          =super-diversity #Right.
          =superdiversity
          =%50%diversity #Half marks.
          ####It is super-diversity.
        }
    """)
    assert q.kind == "short"
    assert q.answers == [GiftAnswer("super-diversity", D(100), "Right."),
                         GiftAnswer("superdiversity", D(100)),
                         GiftAnswer("diversity", D(50), "Half marks.")]
    assert q.general_feedback == "It is super-diversity."


def test_numeric_value_with_tolerance():
    q = one("::Pi::What is pi to two places? {#3.14:0.005}")
    assert q.kind == "numeric"
    assert q.numeric == [NumericAnswer(D("3.14"), D("0.005"), None, None, D(100), "")]


def test_numeric_exact_value_and_feedback():
    q = one("How many? {#-2 #Right.####Count again.}")
    assert q.numeric == [NumericAnswer(D(-2), D(0), None, None, D(100), "Right.")]
    assert q.general_feedback == "Count again."


def test_numeric_range():
    q = one("A number from 1 to 5. {#1..5}")
    assert q.numeric == [NumericAnswer(None, D(0), D(1), D(5), D(100), "")]
    assert one("Negative. {#-5.5..-1}").numeric[0].low == D("-5.5")


def test_numeric_with_several_weighted_answers():
    q = one("""
        When was Ulysses S. Grant born? {#
          =1822:0 #Right.
          =%50%1822:2 #Close.
          =%-10%1..1000
        }
    """)
    assert q.numeric == [
        NumericAnswer(D(1822), D(0), None, None, D(100), "Right."),
        NumericAnswer(D(1822), D(2), None, None, D(50), "Close."),
        NumericAnswer(None, D(0), D(1), D(1000), D(-10), ""),
    ]
    assert one("Year? {#=1822:0 =%50%1822:2}").numeric[1].weight == 50


def test_numeric_accepts_exponents():
    assert one("Big. {#1e3:5E-1}").numeric[0] == NumericAnswer(D(1000), D("0.5"))


def test_matching_pairs_and_a_distractor():
    q = one("""
        ::Match::Match the term to its level. {
          =Bonds -> within groups
          =Bridges -> across groups
          =Links -> with institutions
          = -> with nobody
          ####Ager and Strang.
        }
    """)
    assert q.kind == "matching"
    assert q.pairs == [MatchPair("Bonds", "within groups"), MatchPair("Bridges", "across groups"),
                       MatchPair("Links", "with institutions"), MatchPair("", "with nobody")]
    assert q.general_feedback == "Ager and Strang."


def test_matching_with_two_pairs_on_one_line():
    q = one("Match. {=a -> b =c -> d}")
    assert q.pairs == [MatchPair("a", "b"), MatchPair("c", "d")]


def test_essay():
    q = one("::Reflect::Write about your community. {}")
    assert q.kind == "essay" and q.text == "Write about your community."
    assert one("Essay. {####Look at the rubric.}").general_feedback == "Look at the rubric."
    assert one("Essay. {\n}").kind == "essay"


# Text ----------------------------------------------------------------------------------------

def test_missing_word_puts_a_placeholder_where_the_block_was():
    q = one("The Cantle report found {=parallel ~shared} lives in 2001.")
    assert q.kind == "single" and q.text == f"The Cantle report found {BLANK} lives in 2001."
    assert one("{=Cantle ~Casey} wrote the 2001 report.").text == f"{BLANK} wrote the 2001 report."
    assert one("Ends with the block. {=a ~b}").text == "Ends with the block."


def test_missing_word_with_the_block_over_several_lines():
    q = one("""
        Integration is {
          =multi-directional
          ~one-way
        } in the 2019 framework.
    """)
    assert q.text == f"Integration is {BLANK} in the 2019 framework."


def test_answers_and_text_over_several_lines():
    q = one("""
        ::Long::A question
        over two lines? {
          =A right answer that
            goes on #and feedback that
            also goes on
          ~A wrong one
        }
    """)
    assert q.text == "A question\nover two lines?"
    assert q.answers[0].text == "A right answer that\n    goes on"
    assert q.answers[0].feedback == "and feedback that\n    also goes on"
    assert q.answers[1] == GiftAnswer("A wrong one", D(0))


def test_escapes_in_every_part():
    q = one(r"""
        ::Ratio 1\:2::Is a\=b, \{c\} \~d \#e \\f?\nNew line. {
          =x\=1 #feedback \# \~ \{\}
          ~y\:z
          ####general\: \=
        }
    """)
    assert q.title == "Ratio 1:2"
    assert q.text == "Is a=b, {c} ~d #e \\f?\nNew line."
    assert q.answers == [GiftAnswer("x=1", D(100), "feedback # ~ {}"), GiftAnswer("y:z", D(0))]
    assert q.general_feedback == "general: ="


def test_unknown_escape_and_single_colon_are_kept():
    q = one(r"Path C:\temp and a\b? {=yes ~no}")
    assert q.text == r"Path C:\temp and a\b?"


def test_escaped_braces_are_not_an_answer_block():
    q = one(r"Is \{x\} a set? {T}")
    assert q.text == "Is {x} a set?" and q.kind == "truefalse"


def test_escapes_in_matching_numeric_and_true_false():
    assert one(r"M {=a\=1 -> b\#2 =c -> d\~}").pairs == [MatchPair("a=1", "b#2"), MatchPair("c", "d~")]
    assert one(r"N {#3 #three\#}").numeric[0].feedback == "three#"
    assert one(r"T {T#a\#b#c\~d}").true_feedback == "c~d"


@pytest.mark.parametrize("fmt", ["moodle", "markdown", "html", "plain"])
def test_text_format_prefixes(fmt):
    q = one(f"::T::[{fmt}]Some *text*. {{=a ~b}}")
    assert q.text_format == fmt and q.text == "Some *text*."


def test_text_format_without_title_and_unknown_prefix_kept_as_text():
    assert one("[html]<p>Hi</p> {}").text_format == "html"
    q = one("[1] Cited claim. {T}")
    assert q.text_format == "moodle" and q.text == "[1] Cited claim."


def test_titles_are_optional():
    q = one("No title here? {T}")
    assert q.title == "" and q.text == "No title here?"
    assert one("::  Spaced  ::  Text {T}").title == "Spaced"


def test_comments_are_ignored_even_inside_a_question_but_urls_are_not_comments():
    questions = parse_gift(gift("""
        // Unit 1 quiz.
        // Another comment.
        ::One::See http://example.org now. {
          // a comment among the answers
          =a
          ~b
        }
        // between questions

        ::Two::Second? {T}
    """))
    assert [q.title for q in questions] == ["One", "Two"]
    assert questions[0].text == "See http://example.org now."
    assert [a.text for a in questions[0].answers] == ["a", "b"]


def test_categories_apply_to_the_questions_that_follow():
    questions = parse_gift(gift("""
        ::Before::No category. {T}

        $CATEGORY: $course$/Unit 1

        ::A::First. {T}

        ::B::Second. {F}
        $CATEGORY: Unit 2/Part b
        ::C::Third. {}

        $CATEGORY:

        ::D::Fourth. {}
    """))
    assert [(q.title, q.category) for q in questions] == [
        ("Before", None), ("A", "$course$/Unit 1"), ("B", "$course$/Unit 1"), ("C", "Unit 2/Part b"),
        ("D", None)]


def test_blank_lines_separate_questions_and_line_numbers_are_kept():
    questions = parse_gift("// intro\n\n\n::A::One {T}\n\n\n\n::B::Two\n{\n=x\n~y\n}\n\n::C::Three {F}\n")
    assert [q.title for q in questions] == ["A", "B", "C"]
    assert [q.line for q in questions] == [4, 8, 14]


def test_a_question_without_a_blank_line_before_it_runs_into_the_one_before():
    assert errors_of("""
        ::A::One {T}
        ::B::Two {F}
    """) == [(2, "unexpected '{': one answer block per question (write \\{ or \\} for a literal brace)")]


def test_windows_line_endings_and_a_byte_order_mark():
    questions = parse_gift("\ufeff// c\r\n::A::One\r\ntwo {\r\n=x\r\n~y\r\n}\r\n\r\n::B::Three {T}\r\n")
    assert [q.title for q in questions] == ["A", "B"]
    assert questions[0].text == "One\ntwo" and questions[0].answers[1].text == "y"


def test_empty_input_has_no_questions():
    assert parse_gift("") == []
    assert parse_gift("// only a comment\n\n   \n") == []


def test_line_is_not_compared():
    a, b = parse_gift("Q {T}\n\n\n\nQ {T}")
    assert (a.line, b.line) == (1, 5) and a == b


# Errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("::A::Unclosed {\n=a\n~b\n", [(1, "unclosed brace: '{' has no matching '}'")]),
    ("// c\n::A::Text\nmore {=a ~b", [(3, "unclosed brace: '{' has no matching '}'")]),
    ("Stray } brace {=a ~b}", [(1, "'}' without a '{' before it (write \\} for a literal brace)")]),
    ("Two {=a ~b} blocks {=c ~d}", [(1, "unexpected '{': one answer block per question "
                                        "(write \\{ or \\} for a literal brace)")]),
    ("Q {=a ~b} and a stray }", [(1, "unexpected '}': one answer block per question "
                                    "(write \\{ or \\} for a literal brace)")]),
    ("Nested {=a\n{~b}", [(2, "unexpected '{': one answer block per question "
                              "(write \\{ or \\} for a literal brace)")]),
    ("::A::Just a description.", [(1, "no answer block: add {...} after the question text ({} for an essay)")]),
    ("::A::\n{=a ~b}", [(1, "question has no text")]),
    ("::A::[html] {T}", [(1, "question has no text")]),
    ("::A::\n{~a ~b}", [(1, "single choice with no right answer: mark it with '='"), (1, "question has no text")]),
    ("::A Text {T}", [(1, "title is not closed with '::'")]),
    ("Q {\n=a\n~%abc%b\n}", [(3, "unknown weight '%abc%': write %n% with n from -100 to 100")]),
    ("Q {\n=a\n~%50 b\n}", [(3, "unknown weight '%50 b': write %n% with n from -100 to 100")]),
    ("Q {=a ~%150%b}", [(1, "weight 150% is outside -100..100")]),
    ("Q {=a ~%-100.5%b}", [(1, "weight -100.5% is outside -100..100")]),
    ("Q {=%50%a ~b}", [(1, "a '=' answer is fully right; give partial credit with ~%n%")]),
    ("Q {\n=a\n=b\n~c\n}", [(1, "single choice with 2 '=' answers (one is right; multiple response "
                                "uses ~%n% weights)")]),
    ("Q {~a ~b ~%-50%c}", [(1, "single choice with no right answer: mark it with '='")]),
    ("Q {~%50%a ~%40%b ~%-50%c}", [(1, "multiple-response right answers add up to 90%, not 100%")]),
    ("Q {~%60%a ~%60%b}", [(1, "multiple-response right answers add up to 120%, not 100%")]),
    ("Q {~%100%a}", [(1, "a choice question needs at least two answers")]),
    ("Q {\n=a\n~ #only feedback\n}", [(3, "empty answer text")]),
    ("Q {=a ~}", [(1, "empty answer text")]),
    ("Q {\n=\n}", [(2, "empty answer text")]),
    ("Q {answer without marker}", [(1, "unexpected text 'answer without marker': answers start with '='")]),
    ("Q {junk ~a =b}", [(1, "unexpected text 'junk': answers start with '=' or '~'")]),
    ("Q {=%50%half}", [(1, "short-answer question has no answer worth 100%")]),
    ("Q {#abc}", [(1, "numeric answer 'abc' is not a number (or value:tolerance)")]),
    ("Q {#3:x}", [(1, "numeric answer '3:x' is not a number (or value:tolerance)")]),
    ("Q {#3:}", [(1, "numeric answer '3:' is not a number (or value:tolerance)")]),
    ("Q {#}", [(1, "numeric answer '' is not a number (or value:tolerance)")]),
    ("Q {#3:-1}", [(1, "numeric tolerance -1 is negative")]),
    ("Q {#1..x}", [(1, "numeric range '1..x' is not low..high with two numbers")]),
    ("Q {#5..1}", [(1, "numeric range '5..1' has its low end above its high end")]),
    ("Q {#\n=1\n=%50%two\n}", [(3, "numeric answer 'two' is not a number (or value:tolerance)")]),
    ("Q {#=%50%1}", [(1, "numeric question has no answer worth 100%")]),
    ("Q {#=%500%1}", [(1, "weight 500% is outside -100..100")]),
    ("Q {\n=a -> b\n=c\n=d -> e\n}", [(3, "matching pair 'c' has no '->'")]),
    ("Q {=a -> b =c -> }", [(1, "empty answer text on the right of '->'")]),
    ("Q {=a -> b #fb =c -> d}", [(1, "matching pairs take no feedback (write \\# for a literal #)")]),
    ("Q {=a -> b}", [(1, "a matching question needs at least two pairs")]),
    ("Q {T#a#b#c}", [(1, "true/false takes two feedbacks at most: {T#if wrong#if right}")]),
])
def test_error_messages_and_lines(source, expected):
    with pytest.raises(GiftError) as caught:
        parse_gift(source)
    assert caught.value.errors == expected


def test_all_errors_are_reported_in_line_order_and_good_questions_do_not_hide_them():
    found = errors_of("""
        // Quiz with problems
        ::Fine::A good one. {T}

        ::Bad weight::Choose. {
          =a
          ~%abc%b
          ~%200%c
        }

        ::Unclosed::Oops {=a ~b

        ::No text::{=a ~b}

        ::Fine too::Another good one. {=x ~y}

        ::Sum::Pick. {~%50%a ~%20%b}
    """)
    assert [line for line, _ in found] == [6, 7, 10, 12, 16]
    assert "unknown weight" in found[0][1] and "outside -100..100" in found[1][1]
    assert "unclosed brace" in found[2][1] and found[3][1] == "question has no text"
    assert "add up to 70%" in found[4][1]


def test_gift_error_reads_well():
    with pytest.raises(GiftError) as caught:
        parse_gift("Q {#x}\n\nR {=a ~b")
    assert str(caught.value) == ("line 1: numeric answer 'x' is not a number (or value:tolerance)\n"
                                 "line 3: unclosed brace: '{' has no matching '}'")
    assert isinstance(caught.value, Exception) and len(caught.value.errors) == 2


def test_long_bad_text_is_shortened_in_messages():
    [(line, message)] = errors_of("Q {" + "word " * 30 + "}")
    assert line == 1 and "..." in message and len(message) < 120


# Writing and the round trip ------------------------------------------------------------------

ALL_KINDS = gift(r"""
    // Every kind, with escapes, weights and feedback.
    $CATEGORY: Unit 1

    ::Single\: one::[markdown]Pick *one* \{a\}. {
      =Right \= correct #Yes\#1
      ~%50%Half #Partly
      ~%-33.33333%Wrong
      ####General\: feedback
    }

    ::Multiple::Pick all. {~%50%a #fa ~%50%b ~%-50%c #fc ####g}

    ::TF true::Is it? {T#wrong choice#right choice####gf}

    ::TF false::Is it not? {FALSE#chose true}

    $CATEGORY: Unit 2

    ::Short::Name it. {=one #f1 =%50%two =%-10%three}

    ::Numeric::Value? {#=1822:0 #exact =%50%1822:2 =%25%1800..1850 #range}

    ::Numeric one::Pi? {#3.14:0.01 #good####about 3}

    ::Matching::Match. {=a -> 1 =b -> 2 =c -> 3 = -> 4 ####gm}

    ::Essay::[html]<p>Write.</p> {####rubric}

    ::Missing::The {=cat ~dog} sat on the mat.

    ::Multi line::First line
    second line {
      =answer
        continued #feedback
        continued
      ~other
    }
""")


def test_every_kind_round_trips():
    questions = parse_gift(ALL_KINDS)
    assert {q.kind for q in questions} == {"single", "multiple", "truefalse", "short", "numeric",
                                           "matching", "essay"}
    assert parse_gift(to_gift(questions)) == questions


@pytest.mark.parametrize("question", parse_gift(ALL_KINDS), ids=lambda q: q.title)
def test_each_question_round_trips_alone(question):
    assert round_trips([question])


def test_writer_output_looks_like_gift():
    questions = parse_gift(ALL_KINDS)
    written = to_gift(questions)
    assert written.startswith("$CATEGORY: Unit 1\n\n::Single\\: one::[markdown]Pick *one* \\{a\\}. {\n")
    assert "\t=Right \\= correct #Yes\\#1\n\t~%50%Half #Partly\n\t~%-33.33333%Wrong\n" in written
    assert "\t####General\\: feedback\n}" in written
    assert written.count("$CATEGORY:") == 2 and "\n\n$CATEGORY: Unit 2\n\n" in written
    assert "::TF true::Is it? {TRUE#wrong choice#right choice####gf}" in written
    assert "::TF false::Is it not? {FALSE#chose true}" in written
    assert "::Numeric one::Pi? {#3.14:0.01 #good####about 3}" in written
    assert "::Essay::[html]<p>Write.</p> {####rubric}" in written
    assert "::Missing::The {\n\t=cat\n\t~dog\n} sat on the mat." in written
    assert "::Multi line::First line\\nsecond line {" in written
    assert written.endswith("}\n")


def test_writer_always_writes_a_title_and_escapes_everything():
    q = GiftQuestion("essay", "", "a:b #c =d {e} ~f \\g\nh")
    assert to_gift([q]) == "::::a\\:b \\#c \\=d \\{e\\} \\~f \\\\g\\nh {}\n"
    assert round_trips([q])


def test_writer_handles_questions_built_in_code():
    questions = [
        GiftQuestion("single", "S", "Pick.", category="c/d", answers=[
            GiftAnswer("%50% off", D(100), "deal"), GiftAnswer("%20% off", D(0)),
            GiftAnswer("also right", D(100))]),
        GiftQuestion("multiple", "M", "Pick.", answers=[GiftAnswer("%x", D(100)), GiftAnswer("y", D(0))]),
        GiftQuestion("short", "Sh", "Say.", answers=[GiftAnswer("%ok", D(100))]),
        GiftQuestion("truefalse", "T", "True?", truth=True, true_feedback="yes"),
        GiftQuestion("truefalse", "F", "False?", truth=False, false_feedback="yes", true_feedback="no"),
        GiftQuestion("numeric", "N", "Tiny?", numeric=[NumericAnswer(D("1E-7"), D("1E-8"), weight=D(100)),
                                                      NumericAnswer(None, D(0), D(-1), D(1), D("0.0000001"))]),
        GiftQuestion("matching", "Ma", "Match.", pairs=[MatchPair("a-", ">b"), MatchPair("c", "d -> e")]),
        GiftQuestion("essay", "E", "Ends in a blank _____", text_format="plain"),
        GiftQuestion("essay", "E2", "[html] is literal here"),
        GiftQuestion("single", "B", "Two _____ and _____ here.", answers=[
            GiftAnswer("a", D(100)), GiftAnswer("b", D(0))]),
    ]
    assert round_trips(questions)


def test_writer_emits_category_lines_only_when_the_category_changes():
    questions = [GiftQuestion("essay", "1", "a", category="x"), GiftQuestion("essay", "2", "b", category="x"),
                 GiftQuestion("essay", "3", "c"), GiftQuestion("essay", "4", "d", category="y")]
    written = to_gift(questions)
    assert written.count("$CATEGORY:") == 3 and "$CATEGORY:\n" in written
    assert round_trips(questions)
    assert to_gift([]) == ""


def test_writer_refuses_what_gift_cannot_say():
    with pytest.raises(ValueError, match="kind"):
        to_gift([GiftQuestion("poll", "P", "?")])
    with pytest.raises(ValueError, match="format"):
        to_gift([GiftQuestion("essay", "P", "?", text_format="rtf")])
    with pytest.raises(ValueError, match="->"):
        to_gift([GiftQuestion("short", "P", "?", answers=[GiftAnswer("a->b", D(100))])])
    with pytest.raises(ValueError, match="->"):
        to_gift([GiftQuestion("matching", "P", "?", pairs=[MatchPair("a->b", "c"), MatchPair("d", "e")])])


TOKENS = ["a", "b", "Z", " ", " ", "é", ":", "::", "#", "##", "=", "{", "}", "~", "\\", "\\n", "\n", "%",
          "%50%", "-", ">", "_____", "[html]", "T", "//", "$CATEGORY:", "..", "1", "->"]


def _text(rng: random.Random, arrow: bool = True) -> str:
    while True:
        text = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 8))).strip()
        if text and (arrow or "->" not in text):
            return text


def _maybe(rng: random.Random, arrow: bool = True) -> str:
    return _text(rng, arrow) if rng.random() < 0.5 else ""


def _answers(rng, weights, arrow=True):
    return [GiftAnswer(_text(rng, arrow), D(w), _maybe(rng)) for w in weights]


def _random_question(rng: random.Random) -> GiftQuestion:
    kind = rng.choice(["single", "multiple", "truefalse", "short", "numeric", "matching", "essay"])
    q = GiftQuestion(kind, _maybe(rng), _text(rng), category=rng.choice([None, "a", "a/b c", "$course$/x"]),
                     general_feedback=_maybe(rng), text_format=rng.choice(["moodle", "markdown", "html", "plain"]))
    if kind == "single":
        weights = ["100"] + [rng.choice(["0", "0", "50", "-50", "33.33333", "100"]) for _ in range(rng.randint(1, 4))]
        rng.shuffle(weights)
        q.answers = _answers(rng, weights)
    elif kind == "multiple":
        weights = rng.choice([["100"], ["50", "50"], ["25", "25", "50"], ["33.33333"] * 3])
        wrong = rng.randint(max(0, 2 - len(weights)), 3)  # two answers at least
        weights += [rng.choice(["0", "-50", "-100", "-33.33333"]) for _ in range(wrong)]
        q.answers = _answers(rng, weights)
    elif kind == "truefalse":
        q.truth, q.true_feedback, q.false_feedback = rng.random() < 0.5, _maybe(rng), _maybe(rng)
    elif kind == "short":
        q.answers = _answers(rng, ["100"] + rng.sample(["100", "50", "0", "-10"], rng.randint(0, 3)), arrow=False)
    elif kind == "numeric":
        numbers = ["0", "-1.5", "3", "1E+3", "1E-7", "2.50", "-0", "1822"]
        for weight in ["100"] + rng.sample(["50", "0", "-25"], rng.randint(0, 2)):
            if rng.random() < 0.3:
                low, high = sorted(D(rng.choice(numbers)) for _ in range(2))
                answer = NumericAnswer(None, D(0), low, high)
            else:
                answer = NumericAnswer(D(rng.choice(numbers)), D(rng.choice(["0", "0.5", "2"])))
            answer.weight, answer.feedback = D(weight), _maybe(rng)
            q.numeric.append(answer)
    elif kind == "matching":
        q.pairs = [MatchPair(_text(rng, arrow=False), _text(rng)) for _ in range(rng.randint(2, 4))]
        if rng.random() < 0.3:
            q.pairs.append(MatchPair("", _text(rng)))
    return q


def test_random_questions_round_trip():
    rng = random.Random(20240611)
    for _ in range(300):
        questions = [_random_question(rng) for _ in range(rng.randint(1, 4))]
        written = to_gift(questions)
        assert parse_gift(written) == questions, written


GARBAGE = ["{", "}", "~", "=", "#", "####", ":", "::", "\\", "\\n", "\n", "\n\n", "%", "%50%", "%-50%", "->",
           "..", "1..5", "#3:2", "T", "FALSE", "$CATEGORY: x\n", "//", "[html]", "_____", " ", "a", "b", "1",
           "\r\n", "\ufeff", "\u2028", "\x00", "é", "%100%", "1e5", "=a -> b", "{}", "{#", "{T#"]


def test_fuzzed_input_raises_only_gift_error_and_what_parses_round_trips():
    rng = random.Random(7)
    samples = [path.read_text(encoding="utf-8") for path in SHIPPED[:5]]
    for n in range(3000):
        if n % 2:
            text = "".join(rng.choice(GARBAGE) for _ in range(rng.randint(0, 40)))
        else:
            chars = list(rng.choice(samples))
            for _ in range(rng.randint(1, 6)):
                i = rng.randrange(len(chars))
                chars[i:i + rng.randint(0, 4)] = rng.choice(GARBAGE)
            text = "".join(chars)
        try:
            questions = parse_gift(text)
        except GiftError as error:
            assert error.errors and all(line >= 1 and message for line, message in error.errors)
            continue
        assert parse_gift(to_gift(questions)) == questions, text


# Shipped quizzes -----------------------------------------------------------------------------

def test_all_shipped_quizzes_are_found():
    assert len(SHIPPED) >= 25


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_shipped_quiz_parses_and_round_trips(path):
    questions = parse_gift(path.read_text(encoding="utf-8"))
    assert questions and all(q.title and q.text for q in questions)
    assert all(a.feedback for q in questions for a in q.answers)
    assert parse_gift(to_gift(questions)) == questions
