"""A learner claims offline study hours from inside Moodle: the form posts with the page token, a good
claim is stored for the learner alone and listed with its state, a bad one comes back with the problem
beside its field and stores nothing; the evidence downloads again for its owner only."""

from __future__ import annotations

import re
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from plugin_service.db import session_scope
from plugin_service.models import LearningRecordRow, OfflineClaim
from plugin_service.services.offline.claims import review_claim
from plugin_service.services.offline.who import ADMIN, Actor

from ..console.conftest import OFFICER_DEPARTMENTS
from .conftest import World, learner_token, token
from .test_pages_learner import figure, record_of, section, text_of

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def claimant(world: World) -> str:
    """A cadre of the plan, the same whatever their claims do to their record."""
    with session_scope(world.year.database_url) as session:
        found = session.scalar(select(LearningRecordRow.employee_no).where(
            LearningRecordRow.year == 2026, LearningRecordRow.tier_key.is_not(None),
            LearningRecordRow.employee_no.not_in(world.holders))
            .order_by(LearningRecordRow.employee_no.desc()).limit(1))
    assert found is not None
    return found


def claims_of(world: World, employee_no: str) -> list[OfflineClaim]:
    with session_scope(world.year.database_url) as session:
        return list(session.scalars(select(OfflineClaim).where(OfflineClaim.employee_no == employee_no)
                                    .order_by(OfflineClaim.id)))


def form(t: str, **values: object) -> dict[str, object]:
    fields: dict[str, object] = {"t": t, "title": "党校专题讲座：新质生产力", "day": "2026-06-15",
                                 "hours": "3.5", "description": "党委党校组织，校本部报告厅"}
    fields.update(values)
    return fields


def upload(data: bytes = PDF, name: str = "证明.pdf") -> tuple[BytesIO, str]:
    return BytesIO(data), name


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_form_is_offered_and_labelled(world: World, lang: str) -> None:
    no = claimant(world)
    t = learner_token(world, no, lang)
    client = world.app.test_client()
    home = client.get(f"/lti/home?t={t}").get_data(as_text=True)
    assert f'id="claim-new" href="/lti/claims/new?t={t}"' in home
    page = client.get(f"/lti/claims/new?t={t}").get_data(as_text=True)
    assert ("申报线下学时" if lang == "zh" else "Claim offline hours") in page
    assert f'<input type="hidden" name="t" value="{t}">' in page
    for field in ("title", "day", "hours", "description", "evidence"):
        labelled = rf'<label for="claim-{field}-field">.*?id="claim-{field}-field" name="{field}"'
        assert re.search(labelled, page, re.S), field
    assert 'action="/lti/claims/new"' in page and 'enctype="multipart/form-data"' in page


def test_a_good_claim_is_stored_for_the_learner_and_listed(world: World) -> None:
    no = claimant(world)
    t = learner_token(world, no, "en")
    client = world.app.test_client()
    before = len(claims_of(world, no))
    answer = client.post("/lti/claims/new", data={**form(t), "evidence": upload()},
                         content_type="multipart/form-data")
    assert answer.status_code == 303, answer.get_data(as_text=True)
    stored = claims_of(world, no)
    assert len(stored) == before + 1
    claim = stored[-1]
    assert (claim.title, claim.held_on, claim.hours, claim.state, claim.submitted_by) == (
        "党校专题讲座：新质生产力", "2026-06-15", 3.5, "submitted", f"lti:{no}")
    target = urlsplit(answer.location)
    assert target.path == "/lti/home" and target.fragment == "claims"
    assert parse_qs(target.query) == {"t": [t], "year": ["2026"], "claimed": [str(claim.id)]}

    page = client.get(answer.location).get_data(as_text=True)
    assert 'data-testid="claimed"' in page
    listed = re.search(rf'<li data-claim="{claim.id}">(.*?)</li>', page, re.S)
    assert listed and "党校专题讲座：新质生产力" in listed.group(1)
    assert "waiting for a decision" in listed.group(1)
    with client.get(f"/lti/claims/{claim.id}/evidence?t={t}") as evidence:
        assert evidence.status_code == 200 and evidence.data == PDF
        assert evidence.headers["Cache-Control"] == "no-store"

    # Nobody else downloads it, nor sees the notice for it.
    other = learner_token(world, world.holders[0], "en")
    with client.get(f"/lti/claims/{claim.id}/evidence?t={other}") as refused:
        assert refused.status_code == 404
    elsewhere = client.get(f"/lti/home?t={other}&claimed={claim.id}").get_data(as_text=True)
    assert 'data-testid="claimed"' not in elsewhere and "党校专题讲座" not in elsewhere

    # Approved, its hours count in the record and the page says where they come from.
    with session_scope(world.year.database_url) as session:
        review_claim(session, claim.id, "approve", "证明材料齐全", Actor("console:admin", ADMIN))
    record = record_of(world, no)
    assert record.detail["offline_hours"] >= 3.5
    page = client.get(f"/lti/home?t={t}").get_data(as_text=True)
    assert text_of(page, "offline-hours").startswith(figure(record.detail["offline_hours"]))
    assert text_of(page, "total-hours") == figure(record.detail["total_hours"])
    assert "党校专题讲座：新质生产力" in section(page, "offline-lines")
    approved = re.search(rf'<li data-claim="{claim.id}">(.*?)</li>', page, re.S)
    assert approved and "badge complete" in approved.group(1) and "证明材料齐全" in approved.group(1)


@pytest.mark.parametrize(("values", "field"), [
    ({"hours": "lots"}, "hours"),
    ({"hours": "0"}, "hours"),
    ({"day": "2099-01-01"}, "day"),
    ({"day": "2026-13-40"}, "day"),
    ({"title": "   "}, "title"),
    ({"evidence": "none"}, "evidence"),
    ({"evidence": "text"}, "evidence"),
])
def test_a_bad_claim_comes_back_with_its_problem_and_stores_nothing(world: World, values: dict[str, str],
                                                                     field: str) -> None:
    no = claimant(world)
    t = learner_token(world, no, "zh")
    title = f"集中学习（{field}）"  # not claimed before: the duplicate check comes before the file's
    fields = form(t, **{"title": title, **{k: v for k, v in values.items() if k != "evidence"}})
    if values.get("evidence") == "text":
        fields["evidence"] = upload(b"not a pdf at all", "证明.pdf")
    elif values.get("evidence") != "none":
        fields["evidence"] = upload()
    with session_scope(world.year.database_url) as session:
        before = session.scalar(select(func.count()).select_from(OfflineClaim))
    answer = world.app.test_client().post("/lti/claims/new", data=fields, content_type="multipart/form-data")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'data-testid="claim-problems"' in page
    assert f'id="{field}-problem"' in page and 'aria-invalid="true"' in page
    if field != "title":
        assert f'value="{title}"' in page  # what was typed is kept
    with session_scope(world.year.database_url) as session:
        assert session.scalar(select(func.count()).select_from(OfflineClaim)) == before


def test_only_a_learner_with_a_token_may_claim(world: World) -> None:
    client = world.app.test_client()
    officer = token(None, ("officer",), departments=OFFICER_DEPARTMENTS)
    assert client.get(f"/lti/claims/new?t={officer}").status_code == 404
    answer = client.post("/lti/claims/new", data={**form(""), "evidence": upload()},
                         content_type="multipart/form-data")
    assert answer.status_code == 401
    assert client.get(f"/lti/claims/1/evidence?t={officer}").status_code == 404
