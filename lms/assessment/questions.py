"""The question types: one registry, each type a class with the same small interface.

A question's ``data`` (JSON) holds its answer key and feedback. ``present`` gives what a
learner may see before submitting (never a weight or a feedback); ``grade`` marks an answer;
``from_gift``/``to_gift`` convert to and from Moodle's GIFT format.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from lms.assessment import gift as G


class AnswerError(ValueError):
    """An answer that cannot be read (not a choice on offer, not a number...)."""


@dataclass
class Grade:
    fraction: Decimal                  # 0..1 of the question's points
    feedback: list[str] = field(default_factory=list)
    needs_marking: bool = False


@dataclass
class OptionReview:
    """One option as the review shows it: what it said, whether it was chosen, and what that earned."""

    text: str
    chosen: bool
    weight: Decimal                    # per cent of the question's points: positive right, negative a penalty
    feedback: str = ""

    @property
    def verdict(self) -> str:
        """``right`` (chosen and right), ``wrong`` (chosen, not right), ``missed`` (right, not chosen) or ``""``."""
        if self.chosen:
            return "right" if self.weight > 0 else "wrong"
        return "missed" if self.weight > 0 else ""

    @property
    def share(self) -> str:
        """The weight as the review prints it: ``+50%``, ``−100%``."""
        return ("+" if self.weight > 0 else "") + _percent(self.weight)


def _d(value) -> Decimal:
    return Decimal(str(value))


def _clamp(value: Decimal) -> Decimal:
    return max(Decimal(0), min(Decimal(1), value))


def _percent(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.1')).normalize():f}"
    return f"{'−' if value < 0 else ''}{text.lstrip('-')}%"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class QuestionType:
    kind: ClassVar[str]
    label: ClassVar[str]
    auto_marked: ClassVar[bool] = True
    gift_kinds: ClassVar[tuple[str, ...]] = ()

    def validate(self, data: dict) -> list[str]:
        return []

    def present(self, data: dict, rng: random.Random) -> dict:
        """What the learner sees, with options in a shuffled order fixed by ``rng``."""
        return {}

    def parse_answer(self, values: list[str], presented: dict) -> Any:
        """Read the submitted form values into the stored answer; blank is None."""
        raise NotImplementedError

    def grade(self, data: dict, answer: Any) -> Grade:
        raise NotImplementedError

    def correct_answer(self, data: dict, presented: dict) -> str:
        """The right answer, as text for the review page."""
        return ""

    def review_options(self, data: dict, presented: dict, answer: Any) -> list[OptionReview] | None:
        """Each option in the order the learner saw it, for types whose answer is a choice; else None."""
        return None

    def explain(self, data: dict, answer: Any) -> str:
        """How the mark was reached, where that is not obvious (partial credit, penalties); else ''."""
        return ""

    def from_gift(self, question: G.GiftQuestion) -> dict:
        raise NotImplementedError

    def to_gift(self, data: dict) -> dict:
        """Keyword arguments for GiftQuestion (beyond kind, title, text, category, general feedback)."""
        raise NotImplementedError


# Choice questions ------------------------------------------------------------------

def _choices_from_gift(question: G.GiftQuestion) -> list[dict]:
    return [{"id": f"c{i}", "text": a.text, "weight": float(a.weight), "feedback": a.feedback}
            for i, a in enumerate(question.answers, start=1)]


def _choices_to_gift(data: dict) -> dict:
    return {"answers": [G.GiftAnswer(text=c["text"], weight=_d(c["weight"]), feedback=c.get("feedback", ""))
                        for c in data["choices"]]}


class _ChoiceType(QuestionType):
    multiple: ClassVar[bool] = False

    def validate(self, data):
        choices = data.get("choices") or []
        problems = []
        if len(choices) < 2:
            problems.append("Give at least two choices.")
        if any(not str(c.get("text", "")).strip() for c in choices):
            problems.append("Every choice needs text.")
        weights = [_d(c.get("weight", 0)) for c in choices]
        if any(w < -100 or w > 100 for w in weights):
            problems.append("Weights run from -100 to 100.")
        if self.multiple:
            if abs(sum(w for w in weights if w > 0) - 100) > Decimal("0.1"):
                problems.append("The right choices' weights must add up to 100.")
        elif not any(w == 100 for w in weights):
            problems.append("Mark one choice as right (weight 100).")
        return problems

    def present(self, data, rng):
        order = [c["id"] for c in data["choices"]]
        if data.get("shuffle", True):
            rng.shuffle(order)
        texts = {c["id"]: c["text"] for c in data["choices"]}
        return {"options": [{"id": cid, "text": texts[cid]} for cid in order], "multiple": self.multiple}

    def parse_answer(self, values, presented):
        offered = {o["id"] for o in presented["options"]}
        chosen = [v for v in values if v]
        if not chosen:
            return None
        if any(v not in offered for v in chosen):
            raise AnswerError("That choice is not one of the options.")
        if not self.multiple and len(chosen) > 1:
            raise AnswerError("Choose one option only.")
        return sorted(set(chosen)) if self.multiple else chosen[0]

    def grade(self, data, answer):
        chosen = set(answer if isinstance(answer, list) else [answer] if answer else [])
        by_id = {c["id"]: c for c in data["choices"]}
        total = sum(_d(by_id[c]["weight"]) for c in chosen if c in by_id)
        feedback = [by_id[c]["feedback"] for c in sorted(chosen) if c in by_id and by_id[c].get("feedback")]
        return Grade(_clamp(total / 100), feedback)

    def correct_answer(self, data, presented):
        right = [c["text"] for c in data["choices"] if _d(c["weight"]) > 0]
        return "; ".join(right)

    def review_options(self, data, presented, answer):
        chosen = set(answer if isinstance(answer, list) else [answer] if answer else [])
        by_id = {c["id"]: c for c in data["choices"]}
        return [OptionReview(text=by_id[o["id"]]["text"], chosen=o["id"] in chosen, weight=_d(by_id[o["id"]]["weight"]),
                             feedback=by_id[o["id"]].get("feedback", ""))
                for o in presented["options"] if o["id"] in by_id]

    def explain(self, data, answer):
        if not self.multiple or not answer:
            return ""
        options = self.review_options(data, {"options": data["choices"]}, answer)
        right = [o for o in options if o.verdict == "right"]
        wrong = [o for o in options if o.verdict == "wrong"]
        missed = [o for o in options if o.verdict == "missed"]
        parts = [o.share for o in right + wrong]
        total = sum((o.weight for o in right + wrong), Decimal(0))
        said = [f"{_count(len(right), 'right option')} chosen"]
        if wrong:
            said.append(f"{_count(len(wrong), 'wrong option')} chosen")
        if missed:
            said.append(f"{_count(len(missed), 'right option')} missed")
        sentence = f"{', '.join(said)}: {' '.join(parts) or '0%'} = {_percent(_clamp(total / 100) * 100)}"
        if total < 0:
            sentence += " (a question never scores below 0%)"
        return (sentence + ". Each right option adds its share of the marks; each wrong option chosen takes "
                "its penalty away.")

    def from_gift(self, question):
        return {"choices": _choices_from_gift(question), "shuffle": True}

    def to_gift(self, data):
        return _choices_to_gift(data)


class SingleChoice(_ChoiceType):
    kind = "single"
    label = "Single choice"
    gift_kinds = ("single",)


class MultipleResponse(_ChoiceType):
    """Partial credit: each right choice adds its weight; each wrong one takes its (negative) weight away."""

    kind = "multiple"
    label = "Multiple response"
    multiple = True
    gift_kinds = ("multiple",)


class TrueFalse(QuestionType):
    kind = "truefalse"
    label = "True or false"
    gift_kinds = ("truefalse",)

    def validate(self, data):
        return [] if isinstance(data.get("answer"), bool) else ["Say whether the statement is true or false."]

    def present(self, data, rng):
        return {"options": [{"id": "true", "text": "True"}, {"id": "false", "text": "False"}], "multiple": False}

    def parse_answer(self, values, presented):
        chosen = [v for v in values if v]
        if not chosen:
            return None
        if len(chosen) > 1 or chosen[0] not in {"true", "false"}:
            raise AnswerError("Answer True or False.")
        return chosen[0] == "true"

    def grade(self, data, answer):
        if answer is None:
            return Grade(Decimal(0))
        feedback = data.get("feedback_true" if answer else "feedback_false", "")
        return Grade(Decimal(1) if answer == data["answer"] else Decimal(0), [feedback] if feedback else [])

    def correct_answer(self, data, presented):
        return "True" if data["answer"] else "False"

    def review_options(self, data, presented, answer):
        return [OptionReview(text="True", chosen=answer is True, weight=_d(100 if data["answer"] else 0),
                             feedback=data.get("feedback_true", "")),
                OptionReview(text="False", chosen=answer is False, weight=_d(0 if data["answer"] else 100),
                             feedback=data.get("feedback_false", ""))]

    def from_gift(self, question):
        return {"answer": bool(question.truth), "feedback_true": question.true_feedback,
                "feedback_false": question.false_feedback}

    def to_gift(self, data):
        return {"truth": data["answer"], "true_feedback": data.get("feedback_true", ""),
                "false_feedback": data.get("feedback_false", "")}


class ShortAnswer(QuestionType):
    """Several accepted answers; case and surrounding spaces ignored unless the author says otherwise."""

    kind = "short"
    label = "Short answer"
    gift_kinds = ("short",)

    def validate(self, data):
        answers = data.get("answers") or []
        if not answers or not any(_d(a.get("weight", 100)) == 100 for a in answers):
            return ["Give at least one fully right answer."]
        if any(not str(a.get("text", "")).strip() for a in answers):
            return ["An accepted answer cannot be blank."]
        return []

    def present(self, data, rng):
        return {"input": "text"}

    def parse_answer(self, values, presented):
        text = " ".join(v for v in values if v).strip()
        if len(text) > 500:
            raise AnswerError("Keep the answer under 500 characters.")
        return text or None

    def _normalise(self, text: str, case_sensitive: bool) -> str:
        text = " ".join(text.split())
        return text if case_sensitive else text.casefold()

    def grade(self, data, answer):
        if not answer:
            return Grade(Decimal(0))
        case = bool(data.get("case_sensitive"))
        given = self._normalise(answer, case)
        best = None
        for accepted in data["answers"]:
            if self._normalise(accepted["text"], case) == given:
                if best is None or _d(accepted["weight"]) > _d(best["weight"]):
                    best = accepted
        if best is None:
            return Grade(Decimal(0), [data["wrong_feedback"]] if data.get("wrong_feedback") else [])
        return Grade(_clamp(_d(best["weight"]) / 100), [best["feedback"]] if best.get("feedback") else [])

    def correct_answer(self, data, presented):
        return " or ".join(a["text"] for a in data["answers"] if _d(a["weight"]) == 100)

    def from_gift(self, question):
        return {"answers": [{"text": a.text, "weight": float(a.weight), "feedback": a.feedback}
                            for a in question.answers], "case_sensitive": False}

    def to_gift(self, data):
        return {"answers": [G.GiftAnswer(a["text"], _d(a["weight"]), a.get("feedback", "")) for a in data["answers"]]}


class Numeric(QuestionType):
    """A value with a tolerance, or a range; several may be given with partial weights."""

    kind = "numeric"
    label = "Numeric"
    gift_kinds = ("numeric",)

    def validate(self, data):
        answers = data.get("answers") or []
        if not answers:
            return ["Give the right value or range."]
        for a in answers:
            if a.get("value") is None and (a.get("low") is None or a.get("high") is None):
                return ["Each answer needs a value, or a low and a high."]
            if a.get("low") is not None and a.get("high") is not None and _d(a["low"]) > _d(a["high"]):
                return ["The low end of a range must not be above the high end."]
        return []

    def present(self, data, rng):
        return {"input": "number"}

    def parse_answer(self, values, presented):
        text = " ".join(v for v in values if v).strip().replace(",", "")
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise AnswerError("Enter a number, such as 42 or 3.5.") from None
        if not value.is_finite() or abs(value.adjusted()) > 30:
            raise AnswerError("Enter a number, such as 42 or 3.5.")
        return str(value)

    def _matches(self, a: dict, value: Decimal) -> bool:
        if a.get("value") is not None:
            return abs(value - _d(a["value"])) <= _d(a.get("tolerance") or 0)
        return _d(a["low"]) <= value <= _d(a["high"])

    def grade(self, data, answer):
        if answer is None:
            return Grade(Decimal(0))
        value = _d(answer)
        matching = [a for a in data["answers"] if self._matches(a, value)]
        if not matching:
            return Grade(Decimal(0))
        best = max(matching, key=lambda a: _d(a.get("weight", 100)))
        return Grade(_clamp(_d(best.get("weight", 100)) / 100), [best["feedback"]] if best.get("feedback") else [])

    def correct_answer(self, data, presented):
        right = [a for a in data["answers"] if _d(a.get("weight", 100)) == 100] or data["answers"]
        a = right[0]
        if a.get("value") is not None:
            tolerance = _d(a.get("tolerance") or 0)
            return f"{a['value']}" + (f" (± {tolerance})" if tolerance else "")
        return f"between {a['low']} and {a['high']}"

    def from_gift(self, question):
        def num(v):
            return None if v is None else str(v)
        return {"answers": [{"value": num(n.value), "tolerance": num(n.tolerance), "low": num(n.low),
                             "high": num(n.high), "weight": float(n.weight), "feedback": n.feedback}
                            for n in question.numeric]}

    def to_gift(self, data):
        def num(v):
            return None if v is None else _d(v)
        return {"numeric": [G.NumericAnswer(value=num(a.get("value")), tolerance=_d(a.get("tolerance") or 0),
                                            low=num(a.get("low")), high=num(a.get("high")),
                                            weight=_d(a.get("weight", 100)), feedback=a.get("feedback", ""))
                            for a in data["answers"]]}


class Matching(QuestionType):
    """Pair each prompt with an answer; credit per right pair."""

    kind = "matching"
    label = "Matching"
    gift_kinds = ("matching",)

    def validate(self, data):
        pairs = data.get("pairs") or []
        if len(pairs) < 2:
            return ["Give at least two pairs."]
        if any(not p.get("left", "").strip() or not p.get("right", "").strip() for p in pairs):
            return ["Every pair needs a prompt and an answer."]
        return []

    def present(self, data, rng):
        answers = sorted({p["right"] for p in data["pairs"]} | set(data.get("extra", [])))
        rng.shuffle(answers)
        prompts = [{"id": p["id"], "text": p["left"]} for p in data["pairs"]]
        rng.shuffle(prompts)
        return {"prompts": prompts, "answers": answers}

    def parse_answer(self, values, presented):
        # values: "prompt_id=answer text" strings, one per prompt
        offered = set(presented["answers"])
        prompts = {p["id"] for p in presented["prompts"]}
        answer = {}
        for value in values:
            prompt, _, chosen = value.partition("=")
            if not chosen:
                continue
            if prompt not in prompts or chosen not in offered:
                raise AnswerError("That match is not one of the options.")
            answer[prompt] = chosen
        return answer or None

    def grade(self, data, answer):
        answer = answer or {}
        right = sum(1 for p in data["pairs"] if answer.get(p["id"]) == p["right"])
        return Grade(_d(right) / len(data["pairs"]))

    def correct_answer(self, data, presented):
        return "; ".join(f"{p['left']} → {p['right']}" for p in data["pairs"])

    def from_gift(self, question):
        pairs = [p for p in question.pairs if p.left]
        return {"pairs": [{"id": f"p{i}", "left": p.left, "right": p.right} for i, p in enumerate(pairs, start=1)],
                "extra": [p.right for p in question.pairs if not p.left]}

    def to_gift(self, data):
        return {"pairs": [G.MatchPair(p["left"], p["right"]) for p in data["pairs"]]
                + [G.MatchPair("", extra) for extra in data.get("extra", [])]}


class Ordering(QuestionType):
    """Put items in order; credit for each item in its right place. In files, ``{>first >second >third}``
    (our extension of GIFT: Moodle has no ordering questions)."""

    kind = "ordering"
    label = "Ordering"
    gift_kinds = ("ordering",)

    def from_gift(self, question):
        return {"items": [{"id": f"i{n}", "text": text} for n, text in enumerate(question.items, start=1)]}

    def to_gift(self, data):
        return {"items": [item["text"] for item in data["items"]]}

    def validate(self, data):
        items = data.get("items") or []
        if len(items) < 3:
            return ["Give at least three items to put in order."]
        if any(not i.get("text", "").strip() for i in items):
            return ["Every item needs text."]
        return []

    def present(self, data, rng):
        items = [{"id": i["id"], "text": i["text"]} for i in data["items"]]
        while len(items) > 1:
            rng.shuffle(items)
            if [i["id"] for i in items] != [i["id"] for i in data["items"]]:
                break
        return {"items": items}

    def parse_answer(self, values, presented):
        # values: "item_id=position" strings
        ids = {i["id"] for i in presented["items"]}
        positions = {}
        for value in values:
            item, _, position = value.partition("=")
            if not position:
                continue
            if item not in ids or not position.isdigit() or not 1 <= int(position) <= len(ids):
                raise AnswerError("Give each item a position from the list.")
            positions[item] = int(position)
        if not positions:
            return None
        if len(set(positions.values())) != len(positions):
            raise AnswerError("Give each item a different position.")
        return [item for item, _ in sorted(positions.items(), key=lambda kv: kv[1])] \
            if len(positions) == len(ids) else {k: v for k, v in positions.items()}

    def grade(self, data, answer):
        right = [i["id"] for i in data["items"]]
        if isinstance(answer, dict):  # not every item placed
            placed = {item: position - 1 for item, position in answer.items()}
        elif isinstance(answer, list):
            placed = {item: index for index, item in enumerate(answer)}
        else:
            return Grade(Decimal(0))
        hits = sum(1 for index, item in enumerate(right) if placed.get(item) == index)
        return Grade(_d(hits) / len(right))

    def correct_answer(self, data, presented):
        return " → ".join(i["text"] for i in data["items"])


class Essay(QuestionType):
    kind = "essay"
    label = "Essay (marked by a person)"
    auto_marked = False
    gift_kinds = ("essay",)

    def present(self, data, rng):
        return {"input": "essay", "word_limit": data.get("word_limit")}

    def parse_answer(self, values, presented):
        text = "\n".join(v for v in values if v).strip()
        if len(text) > 50_000:
            raise AnswerError("The answer is too long.")
        return text or None

    def grade(self, data, answer):
        return Grade(Decimal(0), needs_marking=bool(answer))

    def correct_answer(self, data, presented):
        return data.get("guidance", "")

    def from_gift(self, question):
        return {}

    def to_gift(self, data):
        return {}


QUESTION_TYPES: dict[str, QuestionType] = {
    t.kind: t for t in (SingleChoice(), MultipleResponse(), TrueFalse(), ShortAnswer(), Numeric(), Matching(),
                        Ordering(), Essay())
}
GIFT_TO_KIND = {gift_kind: t.kind for t in QUESTION_TYPES.values() for gift_kind in t.gift_kinds}


def question_type(kind: str) -> QuestionType:
    return QUESTION_TYPES[kind]



def data_from_gift(question: G.GiftQuestion) -> dict:
    return question_type(GIFT_TO_KIND[question.kind]).from_gift(question)


def question_problems(question: G.GiftQuestion) -> list[str]:
    """What is wrong with an imported question as a question of its type (GIFT syntax is already checked)."""
    kind = GIFT_TO_KIND.get(question.kind)
    if kind is None:
        return [f"questions of kind '{question.kind}' are not supported"]
    return question_type(kind).validate(data_from_gift(question))
