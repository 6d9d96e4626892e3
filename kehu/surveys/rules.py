"""The survey's pure rules, free of the ORM so they are tested exhaustively: the procedure's transition
map (a step cannot be skipped), the answer scales of each question kind, the validation of a submitted
questionnaire, and the state of a personal link (valid, used, expired)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# The procedure (seed 004 第4篇), in order: plan → target list → expectations → draft → review → fieldwork →
# analysis → report and action plan → re-evaluation → closed.
STAGES = ("plan", "targeting", "expectations", "drafting", "review", "fieldwork", "analysis", "report",
          "reevaluation", "closed")
# The one move back: a review that returns the questionnaire sends the survey back to drafting.
BACKWARD = {("review", "drafting")}

# The answer scales (seed 004 第13篇 and the visit report's scales of 第11篇).
SCALES: dict[str, tuple[int, ...]] = {
    "rating_5": (1, 2, 3, 4, 5),
    "rating_10": tuple(range(1, 11)),
    "visit_quality": (100, 90, 85, 80, 70, 60),
    "visit_attitude": (100, 90, 85, 80, 30, 0),
    "nps": tuple(range(0, 11)),
    "matrix": (1, 2, 3, 4, 5),
}
CHOICE_KINDS = ("single", "multiple")
KINDS = (*SCALES, *CHOICE_KINDS, "text")
TEXT_MAX = 2000


def transition_error(current: str, to: str) -> str | None:
    """None when the survey may move from ``current`` to ``to``; else the refusal's code."""
    if current not in STAGES or to not in STAGES:
        return "survey_unknown_step"
    if current == "closed":
        return "survey_closed"
    if (current, to) in BACKWARD:
        return None
    here, there = STAGES.index(current), STAGES.index(to)
    if there == here + 1:
        return None
    if there > here + 1:
        return "survey_step_skipped"
    return "survey_step_backwards"


def next_stage(current: str) -> str | None:
    i = STAGES.index(current)
    return STAGES[i + 1] if i + 1 < len(STAGES) else None


def allowed_moves(current: str) -> list[str]:
    return [to for to in STAGES if transition_error(current, to) is None]


# ---------------------------------------------------------------- answers

@dataclass
class QuestionSpec:
    """What validation needs of a question: its id, kind, options ([{"value", "label"}]) and whether
    an answer is required."""

    id: int
    kind: str
    options: list = field(default_factory=list)
    required: bool = True


@dataclass
class AnswerValue:
    question_id: int
    row: str = ""
    number: int | None = None
    choices: list = field(default_factory=list)
    text: str = ""


def option_values(options) -> list[str]:
    return [str(o.get("value")) for o in (options or []) if isinstance(o, dict) and o.get("value") not in (None, "")]


def _int(value: str) -> int | None:
    value = (value or "").strip()
    if not value or not value.lstrip("-").isdigit() or len(value) > 4:
        return None
    return int(value)


def validate_answers(questions: list[QuestionSpec], form: dict[str, list[str]]) -> tuple[list[AnswerValue], dict]:
    """Read a submitted questionnaire. ``form`` maps a field name to its values: ``q<id>`` for a scale,
    a choice (several values for multiple choice) or a text, ``q<id>__<row>`` for a matrix row. Returns
    the answers and the errors by field ({"q12": ["required"|"out_of_range"|"unknown_choice"|"too_long"]}:
    codes the page turns into messages). Nothing is returned as an answer when the form has errors."""
    answers: list[AnswerValue] = []
    errors: dict[str, list[str]] = {}

    def values(name: str) -> list[str]:
        return [v for v in (form.get(name) or []) if isinstance(v, str) and v.strip() != ""]

    for q in questions:
        name = f"q{q.id}"
        if q.kind == "matrix":
            rows = option_values(q.options)
            for row in rows:
                got = values(f"{name}__{row}")
                if not got:
                    if q.required:
                        errors.setdefault(name, []).append("required")
                        break
                    continue
                number = _int(got[0])
                if number is None or number not in SCALES["matrix"]:
                    errors.setdefault(name, []).append("out_of_range")
                    break
                answers.append(AnswerValue(q.id, row=row, number=number))
            continue
        got = values(name)
        if not got:
            if q.required:
                errors[name] = ["required"]
            continue
        if q.kind in SCALES:
            number = _int(got[0])
            if number is None or number not in SCALES[q.kind] or len(got) > 1:
                errors[name] = ["out_of_range"]
                continue
            answers.append(AnswerValue(q.id, number=number))
        elif q.kind in CHOICE_KINDS:
            known = option_values(q.options)
            picked = list(dict.fromkeys(got))
            if any(v not in known for v in picked) or (q.kind == "single" and len(picked) > 1):
                errors[name] = ["unknown_choice"]
                continue
            answers.append(AnswerValue(q.id, choices=picked))
        elif q.kind == "text":
            text = got[0].strip()
            if len(text) > TEXT_MAX:
                errors[name] = ["too_long"]
                continue
            answers.append(AnswerValue(q.id, text=text))
        else:
            errors[name] = ["unknown_kind"]
    return ([] if errors else answers), errors


def question_problems(*, kind: str, text: str, options) -> dict[str, str]:
    """What is wrong with a question as defined in the editor (codes by field)."""
    problems: dict[str, str] = {}
    if kind not in KINDS:
        problems["kind"] = "unknown_kind"
    if not (text or "").strip():
        problems["text"] = "required"
    values = option_values(options)
    if kind in CHOICE_KINDS or kind == "matrix":
        if len(values) < (1 if kind == "matrix" else 2):
            problems["options"] = "too_few_options"
        elif len(set(values)) != len(values):
            problems["options"] = "duplicate_options"
        elif any(len(v) > 50 for v in values):
            problems["options"] = "too_long"
    return problems


# ---------------------------------------------------------------- personal links

def link_state(*, expires_at: dt.datetime | None, responded_at: dt.datetime | None, now: dt.datetime,
               open_for_answers: bool = True) -> str:
    """The state of a personal link: "used" once answered (one response per link), "expired" after its
    expiry, "closed" when the survey is no longer in fieldwork, else "valid"."""
    if responded_at is not None:
        return "used"
    if expires_at is None or now >= expires_at:
        return "expired"
    if not open_for_answers:
        return "closed"
    return "valid"


def response_rate(responded: int, invited: int) -> float | None:
    """Responses over invitations, as a percentage with one decimal (None with no invitation)."""
    if invited <= 0:
        return None
    return round(100.0 * responded / invited, 1)
