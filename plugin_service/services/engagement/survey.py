"""The training-needs survey (培训需求调查): its answers harvested from Moodle's feedback activity and
summarised by tier and department for next year's plan.

The survey is the feedback activity the plan names (default 培训需求调查) in the plan's survey course,
or in any course of the year; the template course carries it, so the year's copy of that course holds it.
Named answers are read page by page (``mod_feedback_get_responses_analysis``) and stored one row per
submission, replaced when the submission changes. An anonymous survey gives answers without names: they
are kept and counted, but cannot be split by tier or department, and the summary says so.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_feedback import Feedback, FeedbackItem, Response
from rules.survey import OTHER, Answer, Question, Summary, summarise

from ...models import Cadre, Membership, SurveyResponse, YearTier, utcnow
from ..harvest.completion import from_timestamp
from ..harvest.context import YearContext
from .errors import EngagementError

CHOICE_TYPES = ("multichoice", "multichoicerated")
TEXT_TYPES = ("textarea", "textfield")
VALUE_SEPARATOR = "|"


@dataclass(frozen=True)
class SurveyHarvest:
    feedbacks: tuple[Feedback, ...]
    questions: tuple[Question, ...]
    responses: int
    changed: int
    anonymous: bool


def find_surveys(client: MoodleClient, context: YearContext) -> list[Feedback]:
    survey = context.plan.survey
    if survey.course is not None:
        courseids = [context.courses[survey.course]] if survey.course in context.courses else []
    else:
        courseids = [context.courses[key] for key in context.course_keys()]
    if not courseids:
        raise EngagementError("the year's courses are not in Moodle yet: apply the plan first")
    wanted = survey.activity.strip()
    found = [f for f in client.mod_feedback.get_feedbacks_by_courses(courseids).feedbacks
             if html.unescape(f.name).strip().startswith(wanted)]
    if not found:
        where = f"course {survey.course}" if survey.course else "the year's courses"
        raise EngagementError(
            f"no feedback activity named {wanted} in {where}: add the survey (a feedback activity) to the "
            "template course, or name the activity in the plan (survey: {activity: ..., course: ...})")
    return found


def question_of(item: FeedbackItem) -> Question:
    label = html.unescape(item.name).strip() or item.label
    if item.typ in CHOICE_TYPES:
        return Question(item.id, label, "choice", tuple(item.choices))
    if item.typ in TEXT_TYPES:
        return Question(item.id, label, "text")
    if item.typ == "numeric":
        return Question(item.id, label, "number")
    return Question(item.id, label, "info")


def _values(question: Question | None, rawval: str, printval: str) -> list[str]:
    """The answers as texts: a choice's indexes (``1|3``) become the choices' texts."""
    if question is not None and question.kind == "choice":
        chosen = []
        for part in rawval.split(VALUE_SEPARATOR):
            if part.strip().isdigit() and 0 < int(part) <= len(question.choices):
                chosen.append(question.choices[int(part) - 1])
        return chosen or [v.strip() for v in printval.split(";") if v.strip()]
    return [html.unescape(printval).strip()] if printval.strip() else []


def harvest_survey(client: MoodleClient, session: Session, context: YearContext) -> SurveyHarvest:
    feedbacks = find_surveys(client, context)
    questions: list[Question] = []
    seen = changed = 0
    anonymous = False
    stored = {(r.feedbackid, r.attemptid): r for r in session.scalars(
        select(SurveyResponse).where(SurveyResponse.year == context.year))}
    for feedback in feedbacks:
        items = {i.id: question_of(i) for i in client.mod_feedback.get_items(feedback.id).items}
        questions.extend(q for q in items.values() if q.kind != "info")
        anonymous = anonymous or feedback.is_anonymous
        page, perpage = 0, 100
        while True:
            result = client.mod_feedback.get_responses_analysis(feedback.id, page=page, perpage=perpage)
            rows: list[tuple[int, int | None, int, tuple[Response, ...]]] = [
                (a.id, a.userid, a.timemodified, a.responses) for a in result.attempts]
            rows += [(a.id, None, 0, a.responses) for a in result.anonattempts]
            for attemptid, userid, modified, responses in rows:
                seen += 1
                answers = {str(r.id): _values(items.get(r.id), r.rawval, r.printval) for r in responses}
                values = {"userid": userid, "answers": answers,
                          "employee_no": context.cadre_by_userid.get(userid) if userid else None,
                          "submitted_at": from_timestamp(modified) if modified else None}
                row = stored.get((feedback.id, attemptid))
                if row is None:
                    row = SurveyResponse(year=context.year, feedbackid=feedback.id, attemptid=attemptid)
                    session.add(row)
                elif all(getattr(row, k) == v for k, v in values.items()):
                    continue
                for name, value in values.items():
                    setattr(row, name, value)
                row.harvested_at = utcnow()
                changed += 1
            if len(result.attempts) + len(result.anonattempts) < perpage:
                break
            page += 1
    session.commit()
    return SurveyHarvest(tuple(feedbacks), tuple(questions), seen, changed, anonymous)


def survey_summary(session: Session, context: YearContext, questions: tuple[Question, ...]) -> Summary:
    """The stored answers summarised by tier and department (tier names as the plan writes them)."""
    year = context.year
    tier_names = {t.key: t.name for t in session.scalars(select(YearTier).where(YearTier.year == year))}
    members = {m.employee_no: m for m in session.scalars(select(Membership).where(Membership.year == year))}
    departments = {no: department for no, department in session.execute(
        select(Cadre.employee_no, Cadre.department))}
    counts = Counter(tier_names.get(m.tier_key, m.tier_key) for m in members.values()
                     if m.tier_key is not None and m.excluded is None)
    answers = []
    for row in session.scalars(select(SurveyResponse).where(SurveyResponse.year == year)
                               .order_by(SurveyResponse.feedbackid, SurveyResponse.attemptid)):
        member = members.get(row.employee_no or "")
        tier = tier_names.get(member.tier_key, member.tier_key) if member and member.tier_key else OTHER
        answers.append(Answer(row.employee_no or "", tier or OTHER,
                              departments.get(row.employee_no or "", OTHER),
                              {int(k): tuple(v) for k, v in (row.answers or {}).items()}))
    return summarise(questions, answers, dict(counts))
