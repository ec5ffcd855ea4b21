"""A reviewer sees the cadres the plan has them review and the reflections waiting for them, each with
Moodle's grading link for that very submission; an officer sees their departments and nothing else; a
viewer with several roles gets a tab for each, one with none a page saying whom to ask."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import Cadre, LearningRecordRow, ReflectionRecord
from plugin_service.services.documents.document_values import plan_of
from plugin_service.services.read_models.scope import reviewers_of_year

from ..console.conftest import OFFICER_DEPARTMENTS, make_app
from .conftest import World, learner_token, token


def busiest_reviewer(world: World) -> tuple[str, frozenset[str], list[ReflectionRecord]]:
    """The reviewer with the most reflections waiting, their cadres and those reflections."""
    with session_scope(world.year.database_url) as session:
        reviewers = reviewers_of_year(session, 2026)
        waiting = list(session.scalars(select(ReflectionRecord).where(
            ReflectionRecord.year == 2026, ReflectionRecord.status == "submitted",
            ReflectionRecord.grade.is_(None))))
    count = Counter(r.employee_no for r in waiting)
    reviewer = max(sorted(reviewers), key=lambda no: sum(count[c] for c in reviewers[no]))
    mine = reviewers[reviewer]
    found = [r for r in waiting if r.employee_no in mine]
    assert found, "no reflection waits for any reviewer: the year's spread changed"
    return reviewer, mine, found


def numbers(world: World) -> set[str]:
    with session_scope(world.year.database_url) as session:
        return set(session.scalars(select(Cadre.employee_no)))


def get(world: World, path: str) -> str:
    answer = world.app.test_client().get(path)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    return answer.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_reviewer_sees_their_cadres_and_the_reflections_waiting_with_grading_links(
        world: World, lang: str) -> None:
    reviewer, mine, waiting = busiest_reviewer(world)
    page = get(world, f"/lti/reviewing?t={token(reviewer, ('reviewer',), name='评阅人', locale=lang)}")
    assert ("评阅" if lang == "zh" else "Reviewing") in page

    listed = set(re.findall(r'<tr data-cadre="(\w+)">', page))
    assert listed == set(mine)
    items = re.findall(r'<li data-cadre="(\w+)">(.*?)</li>', page.split('data-testid="waiting"')[1]
                       .split("</ul>")[0], re.S)
    assert sorted(no for no, _ in items) == sorted(r.employee_no for r in waiting)
    fake = world.year.fake.url
    for reflection in waiting:
        link = (f'href="{fake}/mod/assign/view.php?id={world.year.assignment_cm(reflection.course_key)}'
                f'&amp;action=grader&amp;userid={world.year.users[reflection.employee_no]}" target="_top"')
        assert any(no == reflection.employee_no and link in body for no, body in items), link
    assert re.search(r'id="waiting-count">(\d+)<', page).group(1) == str(len(waiting))  # type: ignore[union-attr]

    with session_scope(world.year.database_url) as session:
        behind = set(session.scalars(select(LearningRecordRow.employee_no).where(
            LearningRecordRow.year == 2026, LearningRecordRow.status == "behind",
            LearningRecordRow.employee_no.in_(sorted(mine)))))
    shown_behind = set(re.findall(r'<li data-cadre="(\w+)">', page.split('id="behind-title"')[1]
                                  .split("</section>")[0]))
    assert shown_behind == behind
    for other in numbers(world) - set(mine) - {reviewer}:
        assert other not in page, f"{other} is not {reviewer}'s to review"


def test_grading_links_fall_back_to_the_course_when_moodle_cannot_be_asked(world: World) -> None:
    reviewer, _mine, waiting = busiest_reviewer(world)
    settings = world.app.config["CADRE_SETTINGS"]
    unreachable = "http://127.0.0.1:9"  # nothing listens on the discard port
    app = make_app(dataclasses.replace(settings, moodle_url=unreachable))
    answer = app.test_client().get(f"/lti/reviewing?t={token(reviewer, ('reviewer',), locale='en')}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "action=grader" not in page
    for reflection in waiting:
        courseid = world.year.courses[reflection.course_key]
        assert f'href="{unreachable}/mod/assign/index.php?id={courseid}"' in page
    assert "Moodle could not be asked" in page


def test_a_reviewer_without_cadres_is_told_so(world: World) -> None:
    page = get(world, f"/lti/reviewing?t={token('T00000', ('reviewer',), locale='en')}")
    assert 'data-testid="no-cadres"' in page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_officer_sees_their_departments_only(world: World, lang: str) -> None:
    t = token(None, ("officer",), name="officer", departments=OFFICER_DEPARTMENTS, locale=lang)
    page = get(world, f"/lti/department?t={t}")
    with session_scope(world.year.database_url) as session:
        rows = session.execute(select(LearningRecordRow, Cadre.department)
                               .join(Cadre, Cadre.employee_no == LearningRecordRow.employee_no)
                               .where(LearningRecordRow.year == 2026, LearningRecordRow.tier_key.is_not(None),
                                      LearningRecordRow.status != "excluded")).all()
        everyone = {no: dept for no, dept in session.execute(select(Cadre.employee_no, Cadre.department))}
    ours = [(row, dept) for row, dept in rows if dept in OFFICER_DEPARTMENTS]
    assert ours, "the officer's departments take no part: the sample changed"
    assert set(re.findall(r'<tr data-department="([^"]+)">', page)) == {dept for _, dept in ours}
    statuses = Counter(row.status for row, _ in ours)
    assert re.search(r'id="cadres-total">(\d+)<', page).group(1) == str(len(ours))  # type: ignore[union-attr]
    assert re.search(r'id="complete-total">(\d+)<', page).group(1) == str(statuses["complete"])  # type: ignore[union-attr]
    assert re.search(r'id="behind-total">(\d+)<', page).group(1) == str(statuses["behind"])  # type: ignore[union-attr]
    shown = set(re.findall(r'<li data-cadre="(\w+)">', page))
    assert shown == {row.employee_no for row, _ in ours if row.status == "behind"}
    for no, dept in everyone.items():
        if dept not in OFFICER_DEPARTMENTS:
            assert no not in page and f">{dept}<" not in page, f"{no} of {dept} is on the officer's page"


def test_an_officer_without_departments_is_told_so(world: World) -> None:
    page = get(world, f"/lti/department?t={token(None, ('officer',), locale='en')}")
    assert 'data-testid="no-departments"' in page
    assert 'data-testid="by-department"' not in page


def test_several_roles_get_a_tab_each_carrying_the_token(world: World) -> None:
    reviewer, _mine, _waiting = busiest_reviewer(world)
    t = token(reviewer, ("learner", "reviewer", "officer"), departments=OFFICER_DEPARTMENTS, locale="en")
    for path, current in (("/lti/home", "home"), ("/lti/reviewing", "reviewing"),
                          ("/lti/department", "department")):
        page = get(world, f"{path}?t={t}")
        tabs = page.split('data-testid="tabs"')[1].split("</nav>")[0]
        assert re.findall(r'href="(/lti/\w+)\?t=([^"]+)"', tabs) == [
            ("/lti/home", t), ("/lti/reviewing", t), ("/lti/department", t)]
        assert re.findall(r'id="tab-(\w+)" aria-current="page"', tabs) == [current]


def test_home_leads_a_reviewer_or_an_officer_to_their_page(world: World) -> None:
    client = world.app.test_client()
    reviewer = token("T19918", ("reviewer",))
    answer = client.get(f"/lti/home?t={reviewer}")
    assert answer.status_code == 302 and answer.location == f"/lti/reviewing?t={reviewer}"
    officer = token(None, ("officer",), departments=OFFICER_DEPARTMENTS)
    answer = client.get(f"/lti/home?t={officer}")
    assert answer.status_code == 302 and answer.location == f"/lti/department?t={officer}"
    single = get(world, f"/lti/reviewing?t={reviewer}")
    assert 'data-testid="tabs"' not in single


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("roles", [(), ("learner",)])
def test_a_viewer_the_companion_does_not_know_is_told_whom_to_ask(world: World, lang: str,
                                                                   roles: tuple[str, ...]) -> None:
    page = get(world, f"/lti/home?t={token(None, roles, name='王五', userid=4242, locale=lang)}")
    with session_scope(world.year.database_url) as session:
        plan = plan_of(session, 2026)
    assert plan is not None
    assert 'data-testid="unknown"' in page
    assert plan.organisation in page and "王五" in page and "4242" in page
    assert ("暂无您的信息" if lang == "zh" else "does not know you") in page


def test_a_page_of_a_role_the_viewer_lacks_is_not_found(world: World) -> None:
    client = world.app.test_client()
    learner = learner_token(world, "T19918")
    for path in ("/lti/department", "/lti/reviewing"):
        answer = client.get(f"{path}?t={learner}")
        assert answer.status_code == 404
        assert "lti.css" in answer.get_data(as_text=True)  # the tool's own page, framed as the others
    nobody = token(None, ())
    for path in ("/lti/archive.pdf", "/lti/registration-2026.pdf", "/lti/reviewing"):
        assert client.get(f"{path}?t={nobody}").status_code == 404
