"""The training-needs survey (培训需求调查) summarised for next year's plan.

Answers are grouped by the tier and the department of the cadre who gave them, as the organisation
department reads them: how many chose each answer of a choice question (a question may allow several
answers, each counts), the free-text answers listed with who (tier, department) wrote them, and the
share of each tier that answered. Answers from people who are not cadres of the year are counted under
"其他" so that no answer is lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

OTHER = "其他"


@dataclass(frozen=True)
class Question:
    id: int
    label: str
    kind: str  # choice, text, number, info (no answer)
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """One cadre's submitted survey: ``values`` maps a question id to the answers given (choice texts)."""

    respondent: str  # employee number, or "" for a user who is not a cadre of the year
    tier: str  # tier name (or OTHER)
    department: str
    values: Mapping[int, tuple[str, ...]]


@dataclass(frozen=True)
class ChoiceCount:
    choice: str
    total: int
    by_tier: dict[str, int] = field(default_factory=dict)
    by_department: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QuestionSummary:
    question: Question
    answered: int
    choices: tuple[ChoiceCount, ...] = ()
    texts: tuple[tuple[str, str, str], ...] = ()  # (tier, department, text)
    mean: float | None = None  # of a number question


@dataclass(frozen=True)
class Summary:
    respondents: int
    rate_by_tier: dict[str, tuple[int, int]]  # tier -> (answered, cadres)
    questions: tuple[QuestionSummary, ...]


def summarise(questions: Iterable[Question], answers: Iterable[Answer],
              cadres_by_tier: Mapping[str, int]) -> Summary:
    answers = list(answers)
    summaries = []
    for question in questions:
        if question.kind == "info":
            continue
        given = [(a, [v for v in a.values.get(question.id, ()) if v.strip()]) for a in answers]
        given = [(a, values) for a, values in given if values]
        if question.kind == "choice":
            totals: Counter[str] = Counter()
            tiers: dict[str, Counter[str]] = {}
            departments: dict[str, Counter[str]] = {}
            for answer, values in given:
                for value in values:
                    totals[value] += 1
                    tiers.setdefault(value, Counter())[answer.tier] += 1
                    departments.setdefault(value, Counter())[answer.department] += 1
            order = list(question.choices) + sorted(set(totals) - set(question.choices))
            summaries.append(QuestionSummary(question, len(given), tuple(
                ChoiceCount(choice, totals[choice], dict(sorted(tiers.get(choice, Counter()).items())),
                            dict(sorted(departments.get(choice, Counter()).items())))
                for choice in order)))
        elif question.kind == "number":
            numbers = [float(v) for _a, values in given for v in values if _is_number(v)]
            summaries.append(QuestionSummary(question, len(given),
                                             mean=sum(numbers) / len(numbers) if numbers else None))
        else:
            summaries.append(QuestionSummary(question, len(given), texts=tuple(
                (a.tier, a.department, value) for a, values in given for value in values)))
    answered = Counter(a.tier for a in answers if a.respondent)
    rates = {tier: (answered.get(tier, 0), total) for tier, total in cadres_by_tier.items()}
    others = sum(1 for a in answers if not a.respondent or a.tier not in cadres_by_tier)
    if others:
        rates[OTHER] = (others, 0)
    return Summary(len(answers), rates, tuple(summaries))


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
