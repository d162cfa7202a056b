"""GIFT, Moodle's plain-text quiz format: a parser and a writer (no database, no Flask).

``parse_gift(text)`` returns the questions or raises ``GiftError`` listing every problem with
its line; ``to_gift(questions)`` writes them so that ``parse_gift(to_gift(qs)) == qs``.
Following Moodle's ``qformat_gift``:

* Blank lines separate questions; ``//`` lines are comments; ``$CATEGORY: path`` on a line of
  its own sets the category of the questions after it (an empty path sets it back to None).
* ``\\: \\# \\= \\{ \\} \\~ \\\\`` stand for the character, ``\\n`` for a new line, in every part;
  any other backslash is kept.
* Weights are percentages: ``=`` answers are worth 100 and ``~`` answers 0 unless ``%n%``.
* True/false: Moodle reads ``{T#a#b}`` and ``{F#a#b}`` as "a for a wrong answer, b for a right
  one". We store feedback by the learner's choice: ``true_feedback`` is shown for choosing
  True, ``false_feedback`` for choosing False. So ``{T#a#b}`` gives false_feedback=a,
  true_feedback=b; ``{F#a#b}`` gives true_feedback=a, false_feedback=b.
* ``=`` answers containing ``->`` make a matching question (an empty left side is an extra,
  wrong option). GIFT cannot escape ``->``: a short answer or a left side cannot contain it.
* Text after the closing brace makes a missing-word question, stored with ``_____`` where the
  answer block was.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

KINDS = ("single", "multiple", "truefalse", "short", "numeric", "matching", "ordering", "essay")
TEXT_FORMATS = ("moodle", "markdown", "html", "plain")
BLANK = "_____"

_TOKEN = re.compile(r"\\[:#={}~\\n]|.", re.DOTALL)  # an escape, or one character
_ESCAPES = {"\\": "\\\\", ":": "\\:", "#": "\\#", "=": "\\=", "{": "\\{", "}": "\\}", "~": "\\~", "\n": "\\n"}
_FORMAT = re.compile(r"\[(moodle|markdown|html|plain)\]")
_WEIGHT = re.compile(r"-?(\d+(\.\d*)?|\.\d+)", re.ASCII)
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", re.ASCII)
_TRUTH = {"T": True, "TRUE": True, "F": False, "FALSE": False}


@dataclass
class GiftAnswer:
    """A choice or short answer. ``weight`` is a percentage: 100 right, 0 wrong, may be negative."""
    text: str
    weight: Decimal
    feedback: str = ""


@dataclass
class NumericAnswer:
    """A numeric answer: ``value`` ± ``tolerance``, or the range ``low..high`` (``value`` is None)."""
    value: Decimal | None
    tolerance: Decimal = Decimal(0)
    low: Decimal | None = None
    high: Decimal | None = None
    weight: Decimal = Decimal(100)
    feedback: str = ""


@dataclass
class MatchPair:
    """One pair of a matching question; an empty ``left`` is an extra, wrong right-hand option."""
    left: str
    right: str


@dataclass
class GiftQuestion:
    """One question. ``kind`` is one of KINDS; ``line`` (where it starts) is not compared."""
    kind: str
    title: str
    text: str
    category: str | None = None
    general_feedback: str = ""
    answers: list[GiftAnswer] = field(default_factory=list)
    numeric: list[NumericAnswer] = field(default_factory=list)
    pairs: list[MatchPair] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # ordering (our extension), in the right order
    truth: bool | None = None
    true_feedback: str = ""
    false_feedback: str = ""
    text_format: str = "moodle"
    line: int = field(default=0, compare=False)


class GiftError(Exception):
    """The text is not valid GIFT; ``errors`` lists every problem as (line, message)."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = sorted(errors, key=lambda error: error[0])
        super().__init__("\n".join(f"line {line}: {message}" for line, message in self.errors))


# Reading ------------------------------------------------------------------------------------

class _Src:
    """Text with the escapes resolved, knowing which characters were escaped (they are never
    syntax) and the source line of each character, so that errors point at the right line."""

    def __init__(self, text: str, escaped: list[bool], lines: list[int], line: int):
        self.text, self.escaped, self.lines, self.line = text, escaped, lines, line

    @classmethod
    def read(cls, numbered: list[tuple[int, str]]) -> _Src:
        """Join numbered source lines with new lines, resolving escapes."""
        text, escaped, lines = [], [], []
        for n, (lineno, line) in enumerate(numbered):
            for token in (["\n"] if n else []) + _TOKEN.findall(line):
                text.append("\n" if token == "\\n" else token[-1])
                escaped.append(len(token) == 2)
                lines.append(lineno)
        return cls("".join(text), escaped, lines, numbered[0][0])

    def __getitem__(self, part: slice) -> _Src:
        start = part.indices(len(self.text))[0]
        return _Src(self.text[part], self.escaped[part], self.lines[part], self.line_at(start))

    def line_at(self, i: int) -> int:
        """The line of character i (the last line when i is past the end)."""
        if 0 <= i < len(self.lines):
            return self.lines[i]
        return self.lines[-1] if self.lines else self.line

    def find(self, token: str, start: int = 0) -> int:
        """Index of the first occurrence of token made of unescaped characters, or -1."""
        i = self.text.find(token, start)
        while i != -1 and any(self.escaped[i:i + len(token)]):
            i = self.text.find(token, i + 1)
        return i

    def rfind(self, token: str) -> int:
        """Index of the last occurrence of token made of unescaped characters, or -1."""
        i = self.text.rfind(token)
        while i != -1 and any(self.escaped[i:i + len(token)]):
            i = self.text.rfind(token, 0, i + len(token) - 1)
        return i

    def strip(self) -> _Src:
        start = len(self.text) - len(self.text.lstrip())
        return self[start:max(start, len(self.text.rstrip()))]

    def cut(self, token: str) -> tuple[_Src, _Src | None]:
        """Split at the first unescaped token: (before, after), or (self, None) without one."""
        i = self.find(token)
        return (self, None) if i == -1 else (self[:i], self[i + len(token):])

    def split(self, markers: str) -> tuple[_Src, list[tuple[str, _Src]]]:
        """Split before each unescaped marker character: (text before the first, [(marker, body)])."""
        cuts = [i for i, char in enumerate(self.text) if char in markers and not self.escaped[i]]
        head = self[:cuts[0]] if cuts else self
        return head, [(self.text[a], self[a + 1:b]) for a, b in zip(cuts, cuts[1:] + [len(self.text)])]


def parse_gift(text: str) -> list[GiftQuestion]:
    """Read GIFT text into questions; raise GiftError listing every problem found."""
    questions: list[GiftQuestion] = []
    errors: list[tuple[int, str]] = []
    category = None
    for chunk in _chunks(text):
        if isinstance(chunk, str):
            category = chunk or None
            continue
        problems: list[tuple[int, str]] = []
        question = _parse_question(chunk.strip(), problems)
        errors += problems
        if question is not None and not problems:
            question.category = category
            questions.append(question)
    if errors:
        raise GiftError(errors)
    return questions


def _chunks(text: str) -> Iterator[str | _Src]:
    """Yield each ``$CATEGORY:`` path (a str) and each question's text (a _Src), in order."""
    block: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        if stripped and not stripped.startswith("$CATEGORY:"):
            block.append((lineno, line.rstrip("\r")))
            continue
        if block:
            yield _Src.read(block)
            block = []
        if stripped:
            yield stripped.removeprefix("$CATEGORY:").strip()
    if block:
        yield _Src.read(block)


def _parse_question(src: _Src, errors: list) -> GiftQuestion | None:
    """Parse one question's text, adding its problems to errors."""
    title, rest = _take_title(src, errors)
    match = _FORMAT.match(rest.text)
    text_format, rest = (match.group(1), rest[match.end():].strip()) if match else ("moodle", rest)
    found = _find_block(rest, errors)
    if found is None:
        return None
    text, block = found
    i = block.rfind("####")
    general, block = (block[i + 4:].text.strip(), block[:i].strip()) if i != -1 else ("", block)
    kind = _detect_kind(block)
    question = GiftQuestion(kind, title, text, general_feedback=general, text_format=text_format,
                            line=src.line)
    _KINDS[kind].parse(question, block, errors)
    if not text:
        errors.append((src.line, "question has no text"))
    return question


def _take_title(src: _Src, errors: list) -> tuple[str, _Src]:
    """Read an optional ``::title::``; return the title ("" without one) and the rest."""
    if src.find("::") != 0:
        return "", src
    end = src.find("::", 2)
    if end == -1:
        errors.append((src.line, "title is not closed with '::'"))
        return "", src[2:].strip()
    return src[2:end].text.strip(), src[end + 2:].strip()


def _find_block(rest: _Src, errors: list) -> tuple[str, _Src] | None:
    """Split the question text from its answer block: (text, block contents), or None."""
    open_, close = rest.find("{"), rest.find("}")
    if open_ == -1 and close == -1:
        errors.append((rest.line, "no answer block: add {...} after the question text ({} for an essay)"))
    elif close != -1 and (open_ == -1 or close < open_):
        errors.append((rest.line_at(close), "'}' without a '{' before it (write \\} for a literal brace)"))
    elif close == -1:
        errors.append((rest.line_at(open_), "unclosed brace: '{' has no matching '}'"))
    if open_ == -1 or close < open_:
        return None
    block, after = rest[open_ + 1:close].strip(), rest[close + 1:]
    strays = [i for i in (after.find("{"), after.find("}")) if i != -1]
    for part, i in ((block, block.find("{")), (after, min(strays, default=-1))):
        if i != -1:
            errors.append((part.line_at(i), f"unexpected '{part.text[i]}': one answer block per question "
                                            "(write \\{ or \\} for a literal brace)"))
    if not after.text.strip():
        return rest[:open_].text.strip(), block
    return (rest[:open_].text + BLANK + after.text).strip(), block


def _detect_kind(block: _Src) -> str:
    """Tell the kind of question from its answer block, in Moodle's order."""
    if not block.text:
        return "essay"
    if block.text.lstrip().startswith(">"):
        return "ordering"
    if block.find("#") == 0:
        return "numeric"
    if block.find("~") != -1:
        return "single" if block.find("=") != -1 else "multiple"
    if block.cut("#")[0].text.strip().upper() in _TRUTH:
        return "truefalse"
    if any(body.cut("#")[0].find("->") != -1 for _, body in block.split("=")[1]):
        return "matching"
    return "short"


def _answer_parts(block: _Src, markers: str, errors: list) -> list[tuple[str, _Src]]:
    """Split a block into (marker, body) answers; text before the first marker is an error."""
    head, parts = block.split(markers)
    if head.text.strip():
        shown = " or ".join(repr(m) for m in markers)
        errors.append((head.line, f"unexpected text {_short(head.text)!r}: answers start with {shown}"))
    return parts


def _weight(body: _Src, default: int, errors: list) -> tuple[Decimal | None, _Src]:
    """Read an optional leading ``%n%`` weight; (None, body) with an error when it is invalid."""
    body = body.strip()
    if not body.text.startswith("%"):
        return Decimal(default), body
    end = body.text.find("%", 1)
    raw = body.text[1:end]
    if end == -1 or not _WEIGHT.fullmatch(raw):
        shown = body.text[:end + 1] if end != -1 else _short(body.text)
        errors.append((body.line, f"unknown weight {shown!r}: write %n% with n from -100 to 100"))
    elif not -100 <= Decimal(raw) <= 100:
        errors.append((body.line, f"weight {raw}% is outside -100..100"))
    else:
        return Decimal(raw), body[end + 1:].strip()
    return None, body


def _text_and_feedback(body: _Src) -> tuple[str, str]:
    """Split an answer at its first ``#`` into text and feedback."""
    text, feedback = body.cut("#")
    return text.text.strip(), feedback.text.strip() if feedback is not None else ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _number(text: str) -> Decimal | None:
    text = text.strip()
    return Decimal(text) if _NUMBER.fullmatch(text) else None


# Kinds: how each reads its answer block and writes it back ----------------------------------
# parse() gets the errors of its own question only, so "not errors" means all went well so far.

class _Kind:
    """An essay (``{}``): nothing to read or write. The other kinds override both methods."""

    def parse(self, question: GiftQuestion, block: _Src, errors: list) -> None:
        """Fill in the question from its answer block, adding (line, message) errors."""

    def write(self, question: GiftQuestion) -> tuple[str, list[str]]:
        """What follows ``{`` on its line, and one line per answer."""
        return "", []


class _TrueFalse(_Kind):
    """``{T}``, ``{FALSE#if wrong#if right}`` (see the module docstring for the mapping)."""

    def parse(self, question, block, errors):
        head, parts = block.split("#")
        if len(parts) > 2:
            errors.append((parts[2][1].line, "true/false takes two feedbacks at most: {T#if wrong#if right}"))
        question.truth = _TRUTH[head.text.strip().upper()]
        wrong, right = ([body.text.strip() for _, body in parts] + ["", ""])[:2]
        if question.truth:
            question.false_feedback, question.true_feedback = wrong, right
        else:
            question.true_feedback, question.false_feedback = wrong, right

    def write(self, question):
        word, wrong, right = (("TRUE", question.false_feedback, question.true_feedback) if question.truth
                              else ("FALSE", question.true_feedback, question.false_feedback))
        feedback = [wrong, right] if right else [wrong] if wrong else []
        return "#".join([word, *map(_escape, feedback)]), []


class _Choice(_Kind):
    """Single choice (one ``=`` answer, ``~%n%`` partial credit) or multiple response (``~%n%`` only)."""

    def parse(self, question, block, errors):
        parts = _answer_parts(block, "=~", errors)
        for marker, body in parts:
            weight, body = _weight(body, 100 if marker == "=" else 0, errors)
            if marker == "=" and weight is not None and weight != 100:
                errors.append((body.line, "a '=' answer is fully right; give partial credit with ~%n%"))
            _add_answer(question, weight, body, errors)
        rights = sum(marker == "=" for marker, _ in parts)
        total = sum(a.weight for a in question.answers if a.weight > 0)
        if errors:
            return
        if len(parts) < 2:
            errors.append((question.line, "a choice question needs at least two answers"))
        elif rights > 1:
            errors.append((question.line, f"single choice with {rights} '=' answers (one is right; "
                                          "multiple response uses ~%n% weights)"))
        elif not rights and not total:
            errors.append((question.line, "single choice with no right answer: mark it with '='"))
        elif not rights and abs(total - 100) > Decimal("0.01"):
            errors.append((question.line, f"multiple-response right answers add up to {total}%, not 100%"))

    def write(self, question):
        lines, right_marked = [], question.kind == "multiple"
        for answer in question.answers:
            if not right_marked and answer.weight == 100:
                right_marked, marker, weight = True, "=", _weight_text(answer.weight, 100, answer.text)
            else:
                marker, weight = "~", _weight_text(answer.weight, 0, answer.text)
            lines.append(f"{marker}{weight}{_escape(answer.text)}{_feedback_text(answer.feedback)}")
        return "", lines


class _Short(_Kind):
    """One or more ``=`` answers, each worth 100 unless weighted."""

    def parse(self, question, block, errors):
        for _, body in _answer_parts(block, "=", errors):
            weight, body = _weight(body, 100, errors)
            _add_answer(question, weight, body, errors)
        if not errors and not any(a.weight == 100 for a in question.answers):
            errors.append((question.line, "short-answer question has no answer worth 100%"))

    def write(self, question):
        if any("->" in answer.text for answer in question.answers):
            raise ValueError("a short answer cannot contain '->' in GIFT")
        return "", [f"={_weight_text(a.weight, 100, a.text)}{_escape(a.text)}{_feedback_text(a.feedback)}"
                    for a in question.answers]


def _add_answer(question: GiftQuestion, weight: Decimal | None, body: _Src, errors: list) -> None:
    text, feedback = _text_and_feedback(body)
    if not text:
        errors.append((body.line, "empty answer text"))
    if weight is not None:
        question.answers.append(GiftAnswer(text, weight, feedback))


class _Matching(_Kind):
    """``=left -> right`` pairs; no feedback on a pair."""

    def parse(self, question, block, errors):
        for _, body in _answer_parts(block, "=", errors):
            left, right = body.cut("->")
            if right is None:
                errors.append((body.line, f"matching pair {_short(body.text)!r} has no '->'"))
            elif body.find("#") != -1:
                errors.append((body.line, "matching pairs take no feedback (write \\# for a literal #)"))
            elif not right.text.strip():
                errors.append((body.line, "empty answer text on the right of '->'"))
            else:
                question.pairs.append(MatchPair(left.text.strip(), right.text.strip()))
        if not errors and sum(bool(pair.left) for pair in question.pairs) < 2:
            errors.append((question.line, "a matching question needs at least two pairs"))

    def write(self, question):
        if any("->" in pair.left for pair in question.pairs):
            raise ValueError("the left side of a matching pair cannot contain '->' in GIFT")
        return "", [f"={_escape(pair.left)} -> {_escape(pair.right)}" for pair in question.pairs]


class _Ordering(_Kind):
    """``{>first >second >third}``: items in their right order. An extension of ours; Moodle's
    GIFT has no ordering questions. An item cannot contain '>'."""

    def parse(self, question, block, errors):
        for _, body in _answer_parts(block, ">", errors):
            text = body.text.strip()
            if not text:
                errors.append((body.line, "empty item in an ordering question"))
            elif body.find("#") != -1:
                errors.append((body.line, "ordering items take no feedback (write \\# for a literal #)"))
            else:
                question.items.append(text)
        if not errors and len(question.items) < 3:
            errors.append((question.line, "an ordering question needs at least three items"))

    def write(self, question):
        if any(">" in item for item in question.items):
            raise ValueError("an ordering item cannot contain '>'")
        return "", [f">{_escape(item)}" for item in question.items]


class _Numeric(_Kind):
    """``#value``, ``#value:tolerance``, ``#low..high``, or several ``=`` answers after ``#``."""

    def parse(self, question, block, errors):
        body = block[1:].strip()
        parts = _answer_parts(body, "=", errors) if body.find("=") != -1 else [("", body)]
        for _, part in parts:
            weight, part = _weight(part, 100, errors)
            text, feedback = _text_and_feedback(part)
            answer = self.read_number(text, part.line, errors) if weight is not None else None
            if answer is not None:
                answer.weight, answer.feedback = weight, feedback
                question.numeric.append(answer)
        if not errors and not any(a.weight == 100 for a in question.numeric):
            errors.append((question.line, "numeric question has no answer worth 100%"))

    @staticmethod
    def read_number(text: str, line: int, errors: list) -> NumericAnswer | None:
        """Read ``value``, ``value:tolerance`` or ``low..high``."""
        if ".." in text:
            low, high = (_number(part) for part in text.split("..", 1))
            if low is None or high is None:
                errors.append((line, f"numeric range {_short(text)!r} is not low..high with two numbers"))
            elif low > high:
                errors.append((line, f"numeric range {_short(text)!r} has its low end above its high end"))
            else:
                return NumericAnswer(None, Decimal(0), low, high)
            return None
        value, colon, tolerance_text = text.partition(":")
        number, tolerance = _number(value), _number(tolerance_text) if colon else Decimal(0)
        if number is None or tolerance is None:
            errors.append((line, f"numeric answer {_short(text)!r} is not a number (or value:tolerance)"))
        elif tolerance < 0:
            errors.append((line, f"numeric tolerance {tolerance_text.strip()} is negative"))
        else:
            return NumericAnswer(number, tolerance)
        return None

    def write(self, question):
        answers = question.numeric
        if len(answers) == 1 and answers[0].weight == 100:
            return f"#{self.write_number(answers[0])}", []
        return "#", [f"={_weight_text(a.weight, 100, '')}{self.write_number(a)}" for a in answers]

    @staticmethod
    def write_number(answer: NumericAnswer) -> str:
        if answer.value is None:
            number = f"{answer.low}..{answer.high}"
        else:
            number = f"{answer.value}:{answer.tolerance}" if answer.tolerance else str(answer.value)
        return number + _feedback_text(answer.feedback)


_KINDS: dict[str, _Kind] = {"essay": _Kind(), "truefalse": _TrueFalse(), "single": _Choice(),
                            "multiple": _Choice(), "short": _Short(), "matching": _Matching(),
                            "numeric": _Numeric(), "ordering": _Ordering()}


# Writing ------------------------------------------------------------------------------------

def to_gift(questions: list[GiftQuestion]) -> str:
    """Write questions as GIFT that parse_gift reads back to equal questions."""
    chunks: list[str] = []
    category = None
    for question in questions:
        if question.category != category:
            category = question.category
            chunks.append(f"$CATEGORY: {category or ''}".rstrip())
        chunks.append(_write_question(question))
    return "\n\n".join(chunks) + "\n" if chunks else ""


def _write_question(question: GiftQuestion) -> str:
    """``::title::[format]text {block}``, with the block in place of a missing word."""
    if question.kind not in _KINDS:
        raise ValueError(f"unknown question kind {question.kind!r}")
    if question.text_format not in TEXT_FORMATS:
        raise ValueError(f"unknown text format {question.text_format!r}")
    first, lines = _KINDS[question.kind].write(question)
    general = f"####{_escape(question.general_feedback)}" if question.general_feedback else ""
    if lines:
        block = "{" + first + "".join(f"\n\t{line}" for line in lines + [general] if line) + "\n}"
    else:
        block = "{" + first + general + "}"
    explicit = question.text_format != "moodle" or _FORMAT.match(question.text)
    head = f"::{_escape(question.title)}::" + (f"[{question.text_format}]" if explicit else "")
    text, blank = question.text, question.text.find(BLANK)
    if blank == -1 or not text[blank + len(BLANK):].strip():
        return f"{head}{_escape(text)} {block}"
    return head + _escape(text[:blank]) + block + _escape(text[blank + len(BLANK):])


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in text)


def _weight_text(weight: Decimal, default: int, text: str) -> str:
    """``%n%`` unless the weight is the marker's default (always before text starting with %)."""
    return "" if weight == default and not text.startswith("%") else f"%{weight:f}%"


def _feedback_text(feedback: str) -> str:
    return f" #{_escape(feedback)}" if feedback else ""
