"""The training-needs survey: answers given in Moodle's feedback activity, harvested and summarised by
tier and department exactly as the answers were given."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import SurveyResponse
from plugin_service.services.engagement import EngagementError, survey
from rules.survey import OTHER

from ..harvest.world import Year, moment
from ..provisioning.expected import tier_of

pytestmark = pytest.mark.xdist_group("engagement-survey")


def the_survey(year: Year) -> tuple[int, list[dict[str, object]]]:
    """The course module and questions of the year's survey (in the thought course's copy)."""
    site = year.site
    with site.lock:
        for cm in site.db["course_modules"].select(course=year.courses["thought"], modname="feedback"):
            feedback = site.db["feedback"].get(cm["instance"])
            if feedback is not None and str(feedback["name"]).startswith("培训需求调查"):
                items = sorted(site.db["feedback_item"].select(feedback=feedback["id"]),
                               key=lambda i: i["position"])
                return int(cm["id"]), [dict(i) for i in items]
    raise AssertionError("the thought course has no survey")


def test_the_survey_is_summarised_by_tier_and_department(small: Year) -> None:
    year, rng = small, random.Random(5)
    cmid, items = the_survey(year)
    topics, form, free = items
    topic_choices = str(topics["presentation"]).split(">>>>>")[1].split("|")
    form_choices = str(form["presentation"]).split(">>>>>")[1].split("|")
    rows = {r["工号"]: r for r in year.rows()}
    expected_topics: dict[str, Counter[str]] = defaultdict(Counter)
    expected_forms: Counter[str] = Counter()
    texts = set()
    answered: Counter[str] = Counter()
    respondents = set()
    tier_names = {t.key: t.name for t in year.plan().tiers}
    year.at(moment("2026-11-20"))
    for no in sorted(year.users):
        tier = tier_of(rows[no])
        if tier is None or rng.random() < 0.3:
            continue
        picked = sorted(rng.sample(range(1, len(topic_choices) + 1), rng.randint(1, 3)))
        way = rng.randint(1, len(form_choices))
        text = f"希望多安排案例教学 {no}" if rng.random() < 0.5 else ""
        year.site.site_action("feedback_respond", {"userid": year.users[no], "cmid": cmid, "answers": [
            [topics["id"], "|".join(map(str, picked))], [form["id"], str(way)], [free["id"], text]]})
        for index in picked:
            expected_topics[topic_choices[index - 1]][tier_names[tier]] += 1
        expected_forms[form_choices[way - 1]] += 1
        if text:
            texts.add((tier_names[tier], rows[no]["部门"], text))
        answered[tier_names[tier]] += 1
        respondents.add(no)

    with year.client() as client:
        result = survey(client, year.settings)
        again = survey(client, year.settings)
    assert result.survey is not None and again.survey is not None
    harvested, summary = result.survey
    assert harvested.responses == sum(answered.values()) and harvested.changed == harvested.responses
    assert again.survey[0].changed == 0
    by_label = {q.question.label: q for q in summary.questions}
    topic_summary = by_label[str(topics["name"])]
    assert {c.choice: c.by_tier for c in topic_summary.choices if c.total} == {
        choice: dict(sorted(counts.items())) for choice, counts in expected_topics.items()}
    assert [c.choice for c in topic_summary.choices] == topic_choices
    assert {c.choice: c.total for c in by_label[str(form["name"])].choices if c.total} == dict(expected_forms)
    assert set(by_label[str(free["name"])].texts) == texts
    assert {tier: n for tier, (n, _total) in summary.rate_by_tier.items() if n} == dict(answered)
    assert OTHER not in summary.rate_by_tier
    with session_scope(year.database_url) as session:
        stored = session.scalars(select(SurveyResponse)).all()
        assert {r.employee_no for r in stored} == respondents
        assert {r.submitted_at.date() if r.submitted_at else None for r in stored} == {dt.date(2026, 11, 20)}


def test_a_year_without_the_survey_says_what_to_add(small: Year) -> None:
    with small.site.lock:
        for feedback in small.site.db["feedback"]:
            small.site.db["feedback"].update(feedback, name="课程评价")
    with small.client() as client, pytest.raises(EngagementError,
                                                 match="no feedback activity named 培训需求调查"):
        survey(client, small.settings)
