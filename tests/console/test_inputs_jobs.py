"""Roster and plan in the console: a plan with an error is refused with the error's line, the fixed one
shows its diff against Moodle (a job, eager here, whose result the upload keeps), and the apply runs as a
job whose run the job pages show; a harvest is started from the jobs page, and a failed job is retried.
Every step is in the audit log."""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from moodle_bridge import MoodleClient
from moodle_bridge.fake import RunningFake
from plugin_service.db import session_scope
from plugin_service.models import AuditLog, HarvestRun, JobRequest, ProvisionRun, StoredPlan
from plugin_service.services.provisioning.provision import check_inputs, preview

from ..conftest import TOKEN
from ..harvest.world import PLAN_FILE, small_roster
from .conftest import add_users, make_app, post, settings_for, sign_in

BROKEN = ("required: [teaching]", "required: [teachers]")


def upload(client: FlaskClient, plan: str, roster: bytes) -> TestResponse:
    return post(client, "/inputs/upload", {"plan": (io.BytesIO(plan.encode("utf-8")), "plan-2026.yaml"),
                                            "roster": (io.BytesIO(roster), "roster-2026.csv")},
                content_type="multipart/form-data")


def test_upload_check_diff_apply_and_follow_the_jobs(fake: RunningFake, database_url: str) -> None:
    settings = settings_for(database_url, moodle_url=fake.url, moodle_token=TOKEN)
    app: Flask = make_app(settings)
    add_users(database_url)
    client = sign_in(app.test_client(), "admin")
    plan_text, roster = PLAN_FILE.read_text("utf-8"), small_roster()

    broken = plan_text.replace(*BROKEN)
    line = broken.splitlines().index(next(x for x in broken.splitlines() if BROKEN[1] in x)) + 1
    answer = upload(client, broken, roster)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'data-testid="problems"' in text
    assert f'data-line="{line}"' in text and "teachers" in text and "plan-2026.yaml" in text

    answer = upload(client, plan_text, roster)
    assert answer.status_code == 302
    page = answer.headers["Location"]
    assert 'id="show-diff"' in client.get(page).get_data(as_text=True)
    answer = post(client, f"{page}/diff")
    assert answer.status_code == 302 and answer.headers["Location"] == page
    text = client.get(page).get_data(as_text=True)
    assert 'data-testid="diff-counts"' in text and 'data-testid="diff-ops"' in text
    with MoodleClient(fake.url, TOKEN) as moodle:
        wanted = preview(moodle, check_inputs(plan_text, "plan-2026.yaml", roster, "roster-2026.csv"),
                         settings).changes.counts()
    shown = {kind: int(n) for kind, n in re.findall(r'data-kind="(\w+)">(\d+)<', text)}
    assert shown == wanted and wanted["create_user"] > 20
    assert 'id="apply"' in text

    answer = post(client, f"{page}/apply")
    assert answer.status_code == 302 and "/jobs/requests/" in answer.headers["Location"]
    job_page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'data-state="done"' in job_page
    with session_scope(database_url) as session:
        run = session.scalars(select(ProvisionRun)).one()
        stored = session.scalars(select(StoredPlan)).one()
        assert run.status == "done" and stored.applied_at is not None
        run_id, calls, plan_id = run.id, run.moodle_calls, stored.id
    assert f'href="/jobs/provision/{run_id}"' in job_page
    run_page = client.get(f"/jobs/provision/{run_id}").get_data(as_text=True)
    assert f'id="moodle-calls">{calls}<' in run_page and calls > 0
    assert 'data-testid="run-audit"' in run_page
    history = client.get("/inputs/").get_data(as_text=True)
    assert f'/inputs/plans/{plan_id}"' in history
    assert "2026 年度干部在线学习计划" in client.get(f"/inputs/plans/{plan_id}").get_data(as_text=True)

    # The same files again: Moodle matches them now.
    answer = upload(client, plan_text, roster)
    post(client, f"{answer.headers['Location']}/diff")
    again = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="no-changes"' in again

    # A harvest started from the jobs page, and a job that fails and is retried.
    answer = post(client, "/jobs/start", {"kind": "harvest", "year": "2026"})
    harvest_page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'data-state="done"' in harvest_page
    with session_scope(database_url) as session:
        harvest_id = session.scalars(select(HarvestRun.id)).one()
    assert f'href="/jobs/harvest/{harvest_id}"' in harvest_page
    assert 'data-testid="steps"' in client.get(f"/jobs/harvest/{harvest_id}").get_data(as_text=True)
    answer = post(client, "/jobs/start", {"kind": "harvest", "year": "2031"})
    failed_page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'data-state="failed"' in failed_page and "no plan for 2031" in failed_page
    failed_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    answer = post(client, f"/jobs/request/{failed_id}/retry")
    assert answer.status_code == 302
    with session_scope(database_url) as session:
        retried = session.scalars(select(JobRequest).where(JobRequest.retry_of == failed_id)).one()
        assert retried.kind == "harvest" and retried.params == {"year": 2031, "full": False}
        actions = [(a.action, a.outcome) for a in session.scalars(
            select(AuditLog).where(AuditLog.actor == "console:admin").order_by(AuditLog.id))]
    assert actions[:2] == [("console:login", "ok"), ("console:upload", "failed")]
    for action in ("console:upload", "console:queue:diff", "console:apply", "console:queue:apply",
                   "console:queue:harvest"):
        assert (action, "ok") in actions, action
    jobs = client.get("/jobs/").get_data(as_text=True)
    assert 'data-testid="job-requests"' in jobs and f'id="retry-request-{failed_id}"' in jobs
