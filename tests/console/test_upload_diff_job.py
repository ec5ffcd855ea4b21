"""The diff of a console upload is a job (eager here, as every console job in these tests): it reads Moodle
and writes nothing there, keeps the exact counts and the first change lines (as sentences) with the
upload, and its page follows the job while it runs, shows its error when it failed and its changes once
done. A failed diff retried from the jobs page is followed by the upload's page. The upload's warnings
are kept as sentences with their place and shown like the problems of a refused upload."""

from __future__ import annotations

import html
import io
import re

import pytest
from babel.support import Translations
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.fake import RunningFake
from plugin_service import tasks  # noqa: F401  (the diff task, refused below)
from plugin_service.config import ConfigError
from plugin_service.db import session_scope
from plugin_service.models import AuditLog, ConsoleUpload, JobRequest
from plugin_service.services.platform.site_settings import save_connection
from plugin_service.services.provisioning import console_inputs
from plugin_service.services.provisioning.console_inputs import UploadError
from plugin_service.services.provisioning.provision import ProvisionError, check_inputs, preview
from rules.wording import Sentence, load

from ..conftest import TOKEN, WEAK_TOKEN
from ..harvest.world import PLAN_FILE, small_roster
from ..provisioning.moodle_snapshot import write_calls
from .conftest import add_users, make_app, post, settings_for, sign_in
from .test_inputs_jobs import upload
from .test_translations import CATALOGUE


def _signed_in(database_url: str, **values: object) -> tuple[Flask, FlaskClient]:
    app = make_app(settings_for(database_url, **values))
    add_users(database_url)
    return app, sign_in(app.test_client(), "admin")


def _upload_page(client: FlaskClient, roster: bytes | None = None) -> str:
    answer = upload(client, PLAN_FILE.read_text("utf-8"), roster or small_roster())
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer.headers["Location"]


def _upload_id(page: str) -> int:
    return int(page.rsplit("/", 1)[1])


def test_the_diff_job_reads_moodle_and_keeps_counts_and_lines(fake: RunningFake, database_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_inputs, "DIFF_LINES", 5)
    settings = settings_for(database_url, moodle_url=fake.url, moodle_token=TOKEN)
    _app, client = _signed_in(database_url, moodle_url=fake.url, moodle_token=TOKEN)
    page = _upload_page(client)
    fake.site.calls.clear()

    answer = post(client, f"{page}/diff")
    assert answer.status_code == 302 and answer.headers["Location"] == page
    assert fake.site.calls and write_calls(fake.site) == {}, "the diff wrote to Moodle"
    with MoodleClient(fake.url, TOKEN) as moodle:
        changes = preview(moodle, check_inputs(PLAN_FILE.read_text("utf-8"), "plan-2026.yaml", small_roster(),
                                               "roster-2026.csv"), settings).changes
    with session_scope(database_url) as session:
        row = session.get(ConsoleUpload, _upload_id(page))
        assert row is not None and row.diffed_at is not None and row.diff_error is None
        job = session.get(JobRequest, row.diff_job_id)
        assert job is not None and job.kind == "diff" and job.state == "done"
        assert job.params == {"upload_id": row.id} and job.result["changes"] == len(changes.ops)
        assert row.diff_counts == changes.counts() and sum(row.diff_counts.values()) > 5
        lines = row.diff_lines or []
        assert [line["sign"] + " " + str(load(line["text"])) for line in lines] == [
            op.describe() for op in changes.ops[:5]]
        assert all(line["kind"] == op.kind and isinstance(line["text"], dict)
                   for line, op in zip(lines, changes.ops, strict=False))
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "console:queue:diff")).one()
        assert audit.target == f"upload:{row.id}" and audit.outcome == "ok"
        job_id = job.id

    text = client.get(page).get_data(as_text=True)
    ops = re.search(r'data-testid="diff-ops">(.*?)</ul>', text, re.S)
    assert ops is not None and ops.group(1).count("<li") == 5
    first = changes.ops[0].text
    zh = Translations.load(str(CATALOGUE.parent.parent), ["zh"]).gettext  # the page's language
    assert isinstance(first, Sentence) and first.translated(zh) in html.unescape(text)
    assert str(first) not in html.unescape(text)
    assert f"另有 {len(changes.ops) - 5} 项" in text  # the counts cover every change, the lines the first
    assert 'id="apply"' in text and 'http-equiv="refresh"' not in text
    job_page = client.get(f"/jobs/requests/{job_id}").get_data(as_text=True)
    assert 'data-state="done"' in job_page and 'id="open-run"' not in job_page
    assert f'id="open-upload" href="{page}"' in job_page
    assert "Changes to apply" in client.get("/jobs/?lang=en").get_data(as_text=True)


def test_a_diff_still_running_is_followed_and_holds_the_apply_back(fake: RunningFake,
                                                                     database_url: str) -> None:
    app, client = _signed_in(database_url, moodle_url=fake.url, moodle_token=TOKEN)
    app.extensions["celery"].conf.task_store_eager_result = True  # the page asks the result backend
    page = _upload_page(client)
    post(client, f"{page}/diff")
    with session_scope(database_url) as session:
        # A job a worker has not taken yet: the result backend knows nothing of its task id.
        waiting = JobRequest(kind="diff", task_id="not-taken-yet", params={"upload_id": _upload_id(page)},
                             actor="console:admin")
        session.add(waiting)
        session.flush()
        row = session.get(ConsoleUpload, _upload_id(page))
        assert row is not None
        row.diff_job_id, row.diff_counts, row.diffed_at, row.diff_lines = waiting.id, None, None, None
    text = client.get(page).get_data(as_text=True)
    assert 'data-testid="diff-job"' in text and 'id="diff-state" data-state="queued"' in text
    assert 'http-equiv="refresh"' in text and f'href="/jobs/requests/{waiting.id}"' in text
    assert 'id="apply"' not in text and 'data-testid="diff-counts"' not in text
    answer = post(client, f"{page}/apply")
    assert answer.status_code == 302 and answer.headers["Location"] == page
    with session_scope(database_url) as session:
        assert session.scalars(select(JobRequest).where(JobRequest.kind == "apply")).first() is None


def test_a_failed_diff_shows_its_error_and_its_retry_is_followed(fake: RunningFake,
                                                                 database_url: str) -> None:
    _app, client = _signed_in(database_url, moodle_url=fake.url, moodle_token=WEAK_TOKEN)
    page = _upload_page(client)
    assert post(client, f"{page}/diff").status_code == 302
    text = client.get(page).get_data(as_text=True)
    error = re.search(r'data-testid="diff-error">(.*?)</div>', text, re.S)
    assert error is not None and "Moodle 返回错误" in error.group(1), text  # in the reader's language
    assert 'id="apply"' not in text and 'http-equiv="refresh"' not in text
    with session_scope(database_url) as session:
        failed = session.scalars(select(JobRequest).where(JobRequest.kind == "diff")).one()
        assert failed.state == "failed" and failed.error
        row = session.get(ConsoleUpload, _upload_id(page))
        assert row is not None and row.diffed_at is None
        assert isinstance(row.diff_error, dict)
        assert row.diff_error["template"] == "Moodle answered an error: %(error)s"
        save_connection(session, settings_for(database_url), url=None, token=TOKEN, actor="test")
        failed_id = failed.id

    assert post(client, f"/jobs/request/{failed_id}/retry").status_code == 302
    text = client.get(page).get_data(as_text=True)
    assert 'data-testid="diff-counts"' in text and 'data-testid="diff-error"' not in text
    assert 'id="apply"' in text


def test_no_moodle_connection_is_said_in_the_readers_language(database_url: str) -> None:
    _app, client = _signed_in(database_url)
    page = _upload_page(client)
    post(client, f"{page}/diff")
    text = client.get(page).get_data(as_text=True)
    assert "尚未设置 Moodle 连接" in text and 'data-testid="diff-error"' in text


def test_warnings_are_kept_with_their_place_and_shown_as_problems(database_url: str) -> None:
    _app, client = _signed_in(database_url)
    lines = small_roster().decode("utf-8-sig").splitlines()
    roster = ("\ufeff" + "\n".join([lines[0] + ",备注", *(line + "," for line in lines[1:])]) + "\n").encode()
    page = _upload_page(client, roster)
    with session_scope(database_url) as session:
        row = session.get(ConsoleUpload, _upload_id(page))
        assert row is not None
        unknown = next(w for w in row.warnings if "备注" in str(w["where"]))
        assert (unknown["file"], unknown["line"], unknown["severity"]) == ("roster-2026.csv", 1, "warning")
        message = load(unknown["message"])
        assert isinstance(message, Sentence) and message.startswith("unknown column, ignored")
    text = client.get(page).get_data(as_text=True)
    table = re.search(r'id="warning-table">(.*?)</table>', text, re.S)
    assert table is not None and 'data-line="1"' in table.group(1) and "roster-2026.csv" in table.group(1)

    # An upload stored before warnings kept their place shows each as the line of text it is.
    with session_scope(database_url) as session:
        row = session.get(ConsoleUpload, _upload_id(page))
        assert row is not None
        row.warnings = ["roster.csv line 3, column 邮箱: warning: no email: Moodle needs one to create the "
                        "account"]
    text = client.get(page).get_data(as_text=True)
    assert "warning: no email: Moodle needs one to create the account" in text


def test_what_cannot_be_uploaded_is_said_in_sentences(database_url: str) -> None:
    _app, client = _signed_in(database_url)
    with session_scope(database_url) as session, pytest.raises(UploadError) as refused:
        console_inputs.upload(session, plan=("plan.yaml", b"year: 2026"), roster=None, actor="test")
    assert isinstance(refused.value.message, Sentence)
    assert str(refused.value) == ("no roster uploaded and none stored yet: choose HR's roster (CSV or XLSX)")
    answer = post(client, "/inputs/upload", {"plan": (io.BytesIO(b"year: 2026\n"), "plan.yaml")},
                  content_type="multipart/form-data")
    assert answer.status_code == 400 and 'data-testid="upload-error"' in answer.get_data(as_text=True)


def test_a_diff_the_job_queue_refuses_keeps_the_changes_seen(fake: RunningFake, database_url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = _signed_in(database_url, moodle_url=fake.url, moodle_token=TOKEN)
    page = _upload_page(client)
    post(client, f"{page}/diff")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("no broker")

    monkeypatch.setattr(app.extensions["celery"].tasks["cadre.diff_upload"], "apply_async", refuse)
    answer = post(client, f"{page}/diff")
    assert answer.status_code == 302 and answer.headers["Location"] == page
    text = client.get(page).get_data(as_text=True)
    assert "任务未能启动" in text and "ConnectionError" in text
    assert 'data-testid="diff-counts"' in text and 'id="apply"' in text
    with session_scope(database_url) as session:
        refused = session.scalars(select(AuditLog).where(AuditLog.action == "console:queue:diff")
                                  .order_by(AuditLog.id.desc())).first()
        assert refused is not None and refused.outcome == "failed"


def test_what_stopped_a_diff_is_a_sentence() -> None:
    stopped = [ConfigError("no Moodle URL"), MoodleError("invalid token", errorcode="invalidtoken"),
               ProvisionError("the token's service lacks core_user_get_users_by_field"), KeyError("idnumber")]
    said = [console_inputs.diff_error(error) for error in stopped]
    assert all(isinstance(text, Sentence) for text in said[:2] + said[3:]), said
    assert said[0] == "No Moodle connection is set: enter it under Settings first."
    assert said[1].startswith("Moodle answered an error: ") and "invalid token" in said[1]
    assert said[2] == "the token's service lacks core_user_get_users_by_field"  # as its service made it
    assert said[3] == "The changes could not be read: KeyError: 'idnumber'"
