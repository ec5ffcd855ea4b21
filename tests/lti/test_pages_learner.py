"""A learner's page inside Moodle shows exactly their own year, as the stored record (``cadre_record``) has
it, in Chinese or English as the launch said; their courses link into Moodle; their certificates and
archive download, and no one else's."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.dates import format_date
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from plugin_service.db import session_scope
from plugin_service.models import Cadre, Certificate, LearningRecordRow, YearCourse
from plugin_service.services.documents.certificates import issue_one, revoke
from plugin_service.services.documents.document_values import plan_of
from plugin_service.services.documents.serials import display
from plugin_service.services.harvest.learning_records import CadreRecord, cadre_record

from .conftest import World, learner_token, token


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'<(\w+) id="{element_id}">(.*?)</\1>', page, re.S)
    assert found, f"no #{element_id} on the page"
    return re.sub(r"<[^>]+>", "", found.group(2)).strip()


def section(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"(.*?)</(ul|ol|table|section)>', page, re.S)
    assert found, f"no {testid} on the page"
    return found.group(1)


def served(client: FlaskClient, path: str) -> int:
    """The status of a download, its file closed."""
    with client.get(path) as answer:
        return answer.status_code


def figure(value: float) -> str:
    return f"{round(value, 2):g}"


def record_of(world: World, employee_no: str) -> CadreRecord:
    with session_scope(world.year.database_url) as session:
        found = cadre_record(session, employee_no, 2026)
    assert found is not None
    return found


def cadre_with(world: World, status: str) -> str:
    with session_scope(world.year.database_url) as session:
        found = session.scalar(select(LearningRecordRow.employee_no).where(
            LearningRecordRow.year == 2026, LearningRecordRow.status == status)
            .order_by(LearningRecordRow.employee_no).limit(1))
    assert found is not None, f"the harvested year has no {status} cadre"
    return found


def everyone_but(world: World, employee_no: str) -> list[str]:
    with session_scope(world.year.database_url) as session:
        return [no for no in session.scalars(select(Cadre.employee_no)) if no != employee_no]


def page_of(world: World, employee_no: str, lang: str, query: str = "") -> str:
    answer = world.app.test_client().get(f"/lti/home?t={learner_token(world, employee_no, lang)}{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


@pytest.mark.parametrize("status", ["behind", "on_track", "complete"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_learner_sees_exactly_their_own_figures(world: World, status: str, lang: str) -> None:
    no = cadre_with(world, status)
    record = record_of(world, no)
    page = page_of(world, no, lang)
    detail = record.detail

    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in page
    assert ("我的学习" if lang == "zh" else "My learning") in page
    assert text_of(page, "total-hours") == figure(detail["total_hours"])
    assert text_of(page, "target-hours") == figure(detail["target"])
    assert text_of(page, "required-hours").startswith(figure(detail["required_hours"]))
    assert text_of(page, "elective-hours").startswith(figure(detail["elective_hours"]))
    assert text_of(page, "discussion-points").startswith(figure(detail["discussion_points"]))
    if detail.get("offline_max") is not None:  # the world's plan counts offline hours
        assert text_of(page, "offline-hours").startswith(figure(detail["offline_hours"]))
    if record.study_seconds is not None:
        shown = html.unescape(text_of(page, "study-time"))
        assert shown.startswith(str(record.study_text)) if lang == "en" else shown
    else:
        assert 'id="study-time"' not in page
    bar = re.search(r'role="progressbar"[^>]*>', page, re.S)
    assert bar, "no progress bar"
    assert f'aria-valuemax="{figure(detail["target"])}"' in bar.group(0)
    assert f'aria-valuenow="{figure(min(detail["total_hours"], detail["target"]))}"' in bar.group(0)
    status_line = re.search(r'data-testid="status">(.*?)</p>', page, re.S)
    assert status_line and f'class="badge {record.status}"' in status_line.group(1)

    # Every course of the record, with its state and the day it was completed, in the page's language.
    courses = dict(re.findall(r'<li class="[^"]*" data-course="(\w+)">(.*?)</li>', page, re.S))
    for line in record.courses:
        body = courses.get(line.key)
        if body is None:
            continue  # a course outside the tier, never completed, is not listed
        if line.first_completed_at is not None:
            local = record.local(line.first_completed_at)
            assert local is not None
            assert 'badge completed' in body, line.key
            assert format_date(local.date(), "medium", locale=lang) in body, line.key
        else:
            assert 'badge completed' not in body, line.key
    with session_scope(world.year.database_url) as session:
        moodle_ids = {c.key: c.moodle_courseid for c in session.scalars(select(YearCourse)
                                                                       .where(YearCourse.year == 2026))}
    for key, body in courses.items():
        assert f'href="{world.year.fake.url}/course/view.php?id={moodle_ids[key]}" target="_top"' in body

    # Reflections: length against the minimum, grade; nobody else's numbers.
    if record.reflections:
        listed = section(page, "reflections")
        for reflection in record.reflections:
            assert re.search(rf"\b{reflection.chars}\b", listed), reflection
            if reflection.grade is not None:
                assert f"{reflection.grade:g}" in listed
    for other in everyone_but(world, no):
        assert other not in page, f"{other} appears on {no}'s page"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_reasons_and_next_steps_read_in_the_launch_language(world: World, lang: str) -> None:
    no = cadre_with(world, "behind")
    record = record_of(world, no)
    page = page_of(world, no, lang)
    reasons = [html.unescape(re.sub(r"<[^>]+>", "", item)).strip()
               for item in re.findall(r"<li>(.*?)</li>", section(page, "reasons"), re.S)]
    stored = [str(reason) for reason in record.detail["reasons"]]
    assert len(reasons) == len(stored)
    if lang == "en":
        assert reasons == stored
    else:
        assert not set(reasons) & set(stored), "reasons left in English on the Chinese page"
        assert all(re.search(r"[\u4e00-\u9fff]", reason) for reason in reasons)
    numbers = re.compile(r"\d+(?:\.\d+)?")
    assert [sorted(numbers.findall(r)) for r in reasons] == [sorted(numbers.findall(r)) for r in stored]
    steps = section(page, "steps")
    with session_scope(world.year.database_url) as session:
        plan = plan_of(session, 2026)
    assert plan is not None
    for key in record.detail["required_missing"]:
        course = plan.course(key)
        assert course is not None and course.name in steps
    assert ("下一步" if lang == "zh" else "What to do next") in page


def test_a_complete_learner_is_told_so_and_gets_no_steps(world: World) -> None:
    no = cadre_with(world, "complete")
    page = page_of(world, no, "en")
    assert 'data-testid="all-met"' in page
    assert 'data-testid="steps"' not in page


def test_an_excluded_cadre_sees_why_and_no_requirement(world: World) -> None:
    no = cadre_with(world, "excluded")
    page = page_of(world, no, "en")
    assert 'data-testid="excluded"' in page
    assert 'role="progressbar"' not in page
    assert 'data-testid="next"' not in page


def test_a_parameter_cannot_show_another_cadre(world: World) -> None:
    mine, other = world.holders
    page = page_of(world, mine, "en", f"&employee_no={other}&cadre={other}&year=2026")
    assert text_of(page, "total-hours") == figure(record_of(world, mine).detail["total_hours"])
    assert other not in page


def test_the_learner_downloads_their_certificate_and_sees_its_verification_link(world: World) -> None:
    holder, other = world.holders
    client = world.app.test_client()
    with session_scope(world.year.database_url) as session:
        mine = session.scalar(select(Certificate).where(Certificate.employee_no == holder))
        theirs = session.scalar(select(Certificate).where(Certificate.employee_no == other))
    assert mine is not None and theirs is not None
    serial, other_serial = display(mine.serial), display(theirs.serial)
    t = learner_token(world, holder, "zh")
    page = client.get(f"/lti/home?t={t}").get_data(as_text=True)
    listed = section(page, "certificates")
    assert f'href="/lti/certificates/{serial}.pdf?t={t}"' in listed
    assert f'href="https://cadre.example.edu/verify/{serial}" target="_blank"' in listed
    assert other_serial not in page

    with client.get(f"/lti/certificates/{serial}.pdf?t={t}") as answer:
        assert answer.status_code == 200
        assert answer.mimetype == "application/pdf"
        stored = Path(world.app.config["CADRE_SETTINGS"].documents_dir) / mine.pdf_path
        assert answer.data == stored.read_bytes()
        assert "attachment" in answer.headers["Content-Disposition"]
        assert answer.headers["Cache-Control"] == "no-store"
    assert served(client, f"/lti/certificates/{serial.lower()}.pdf?t={t}") == 200

    # Another cadre's serial, an unknown one and a malformed one are all simply not found.
    for asked in (other_serial, "ABCDE-FGHJK-MNPQR-STVWX-YZ0123", "../../etc/passwd", "x" * 80):
        refused = client.get(f"/lti/certificates/{asked}.pdf?t={t}")
        assert refused.status_code == 404, asked
        assert refused.mimetype == "text/html"
    assert served(client, f"/lti/certificates/{other_serial}.pdf?t={learner_token(world, other)}") == 200


def test_a_revoked_certificate_is_listed_but_not_served(world: World) -> None:
    settings = world.app.config["CADRE_SETTINGS"]
    with session_scope(world.year.database_url) as session:
        no = session.scalar(select(LearningRecordRow.employee_no).where(
            LearningRecordRow.year == 2026, LearningRecordRow.tier_key.is_not(None),
            LearningRecordRow.employee_no.not_in(world.holders)).order_by(LearningRecordRow.employee_no).limit(1))
    assert no is not None
    issued = issue_one(settings, 2026, no, actor="test", override_reason="test certificate")
    t = learner_token(world, no, "en")
    client = world.app.test_client()
    assert served(client, f"/lti/certificates/{issued.certificate.serial}.pdf?t={t}") == 200
    revoke(settings, issued.certificate.serial, reason="issued by mistake", actor="test")
    page = page_of(world, no, "en")
    assert f'data-serial="{issued.certificate.serial}"' in page
    assert f"/lti/certificates/{issued.certificate.serial}.pdf" not in page
    assert 'class="badge revoked"' in page
    assert client.get(f"/lti/certificates/{issued.certificate.serial}.pdf?t={t}").status_code == 404


def test_the_archive_and_registration_forms_are_the_learners_own(world: World) -> None:
    no = world.holders[0]
    t = learner_token(world, no, "zh")
    client = world.app.test_client()
    archive = client.get(f"/lti/archive.pdf?t={t}")
    assert archive.status_code == 200 and archive.data.startswith(b"%PDF")
    assert "attachment" in archive.headers["Content-Disposition"]
    form = client.get(f"/lti/registration-2026.pdf?t={t}")
    assert form.status_code == 200 and form.data.startswith(b"%PDF")
    assert client.get(f"/lti/registration-2025.pdf?t={t}").status_code == 404
    officer = token(None, ("officer",), departments=("党委宣传部",))
    assert client.get(f"/lti/archive.pdf?t={officer}").status_code == 404


def test_the_course_the_tool_was_opened_from_is_marked(world: World) -> None:
    no = cadre_with(world, "behind")
    with session_scope(world.year.database_url) as session:
        course = session.scalar(select(YearCourse).where(YearCourse.year == 2026,
                                                         YearCourse.key == "thought"))
    assert course is not None
    t = learner_token(world, no, "en", course_id=course.moodle_courseid)
    page = world.app.test_client().get(f"/lti/home?t={t}").get_data(as_text=True)
    assert re.search(r'<li class="here" data-course="thought">', page)
    assert page.count('class="here"') == 1


def test_earlier_years_are_summarised_from_their_records(world: World) -> None:
    no, other = world.holders[1], world.holders[0]
    with session_scope(world.year.database_url) as session:
        for who, hours in ((no, 47.5), (other, 12.25)):
            session.add(LearningRecordRow(year=2025, employee_no=who, tier_key="teaching", status="behind",
                                          status_since="2025-11-02", required_hours=30.0, elective_hours=17.5,
                                          total_hours=hours, target_hours=50.0, discussion_points=3.0))
    try:
        page = page_of(world, no, "en")
        rows = dict(re.findall(r'<tr data-year="(\d+)">(.*?)</tr>', section(page, "earlier"), re.S))
        assert list(rows) == ["2025"]
        cells = [re.sub(r"<[^>]+>", "", cell).strip()
                 for cell in re.findall(r"<td[^>]*>(.*?)</td>", rows["2025"], re.S)]
        assert cells[0] == "2025" and "behind" in cells[2]
        assert cells[3:] == ["47.5 / 50", "30", "17.5", "3"]
        assert "12.25" not in page
    finally:
        with session_scope(world.year.database_url) as session:
            session.execute(delete(LearningRecordRow).where(LearningRecordRow.year == 2025))
