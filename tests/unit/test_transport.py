"""The transport and client core: error detection on every body, retries, secrecy of the token."""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import parse_qsl

import pytest
import requests
import responses

from moodle_bridge import (
    AccessDeniedError,
    DatabaseWriteError,
    DuplicateError,
    FunctionNotInServiceError,
    InvalidParameterError,
    InvalidTokenError,
    MoodleClient,
    MoodleError,
    NotFoundError,
    ProtocolError,
    Retry,
    TransientError,
    TruncatedAnswerError,
)
from moodle_bridge.areas import WriteResult
from moodle_bridge.areas._base import warnings_of
from tests.recordings import recorded_files

URL = "http://moodle.test"
ENDPOINT = URL + "/webservice/rest/server.php"
TOKEN = "5f4dcc3b5aa765d61d8327deb882cf99"


def make_client(**kwargs) -> MoodleClient:
    kwargs.setdefault("retries", Retry(attempts=3, base_delay=0.001, max_delay=0.002))
    return MoodleClient(URL, TOKEN, timeout=5, **kwargs)


def form_of(call) -> dict[str, str]:
    return dict(parse_qsl(call.request.body))


@responses.activate
def test_posts_form_with_token_function_and_json_format() -> None:
    responses.post(ENDPOINT, json={"sitename": "S", "username": "u", "userid": 3, "siteurl": URL,
                                   "functions": [{"name": "f", "version": "1"}]})
    info = make_client().core_webservice.get_site_info()
    assert info.userid == 3 and info.function_names == {"f"}
    form = form_of(responses.calls[0])
    assert form == {"wstoken": TOKEN, "wsfunction": "core_webservice_get_site_info",
                    "moodlewsrestformat": "json"}
    assert TOKEN not in str(responses.calls[0].request.url)


ERROR_CLASSES = {
    "dmlwriteexception": DatabaseWriteError,
    "invalidtoken": InvalidTokenError,
    "accessexception": FunctionNotInServiceError,
    "nopermissions": AccessDeniedError,
    "requireloginerror": AccessDeniedError,
    "wsusercannotassign": AccessDeniedError,
    "invalidparameter": InvalidParameterError,
    "invalidrecord": NotFoundError,
    "invalidrecordunknown": NotFoundError,
    "invaliduser": NotFoundError,
    "invalidcourseid": NotFoundError,
    "invalidcoursemodule": NotFoundError,
    "shortnametaken": DuplicateError,
    "courseidnumbertaken": DuplicateError,
    "categoryidnumbertaken": DuplicateError,
    "idnumbertaken": DuplicateError,
    "missingparam": InvalidParameterError,
    "unknowcategory": NotFoundError,
    "nopermissiontoviewgrades": AccessDeniedError,
    "cannotviewreport": AccessDeniedError,
    "errorreportview": AccessDeniedError,
    "errorreportedit": AccessDeniedError,
    "nopostforum": AccessDeniedError,
    "errorcoursecontextnotvalid": AccessDeniedError,
    "errorcatcontextnotvalid": AccessDeniedError,
    "setting_locked_by_permission": AccessDeniedError,
    # Domain conditions the caller handles by errorcode stay plain MoodleError:
    # usernotenroled, nocriteriaset, nottracked, cannotmanualctrack, criteriaerror, wsnoinstance,
    # formatnotsupported, dmlwriteexception, codingerror, and 4.5's TypeError without errorcode.
}


def recorded_errors() -> list[tuple[str, dict]]:
    found: dict[str, tuple[str, dict]] = {}
    for path in recorded_files():
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict):
            continue
        steps = data.get("steps") or [data]
        for step in steps:
            body = step.get("response")
            if isinstance(body, dict) and "exception" in body:
                found.setdefault(f"{body.get('errorcode')}|{body['exception']}",
                                 (f"{path.parent.name}/{path.stem} {step.get('id', '')}", body))
    return sorted(found.values(), key=lambda item: item[0])


@pytest.mark.parametrize(("where", "body"), recorded_errors(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("status", [200, 400])
def test_every_recorded_error_maps_to_its_class(where: str, body: dict, status: int) -> None:
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=body, status=status)
        with pytest.raises(MoodleError) as caught:
            make_client().call("some_function", {}, write=True)
    error = caught.value
    expected = ERROR_CLASSES.get(body.get("errorcode") or "", MoodleError)
    assert type(error) is expected, where
    assert error.wsfunction == "some_function"
    assert error.errorcode == body.get("errorcode")
    assert error.exception == body["exception"]
    assert error.message == body["message"]
    assert error.debuginfo == body.get("debuginfo")


def test_the_recordings_hold_errors() -> None:
    codes = {body.get("errorcode") for _, body in recorded_errors()}
    assert {"invalidtoken", "accessexception", "nopermissions", "invalidparameter"} <= codes


@responses.activate
def test_a_read_is_retried_after_503_then_succeeds() -> None:
    responses.post(ENDPOINT, body="<html>busy</html>", status=503)
    responses.post(ENDPOINT, json=[{"id": 1}])
    client = make_client()
    assert client.call("core_cohort_get_cohorts", {}, write=False) == [{"id": 1}]
    assert len(responses.calls) == 2
    assert client.calls["core_cohort_get_cohorts"] == 2
    assert client.errors["core_cohort_get_cohorts"] == 1


@responses.activate
def test_failed_calls_are_counted_per_function() -> None:
    responses.post(ENDPOINT, json={"exception": "moodle_exception", "errorcode": "invalidparameter",
                                   "message": "Invalid parameter value detected"})
    responses.post(ENDPOINT, json=[])
    client = make_client()
    with pytest.raises(MoodleError):
        client.call("core_user_create_users", {}, write=True)
    client.call("core_cohort_get_cohorts", {}, write=False)
    assert dict(client.calls) == {"core_user_create_users": 1, "core_cohort_get_cohorts": 1}
    assert dict(client.errors) == {"core_user_create_users": 1}


@responses.activate
def test_a_read_gives_up_after_the_allowed_attempts() -> None:
    for _ in range(3):
        responses.post(ENDPOINT, status=500, body="")
    with pytest.raises(TransientError):
        make_client().call("core_cohort_get_cohorts", {}, write=False)
    assert len(responses.calls) == 3


@responses.activate
def test_a_read_whose_answer_broke_off_is_read_again() -> None:
    responses.post(ENDPOINT, body=b'[{"id": 1, "name": "cad', content_type="application/json")
    responses.post(ENDPOINT, json={"exception": "dml_read_exception", "errorcode": "dmlreadexception",
                                   "message": "Error reading from database"})
    responses.post(ENDPOINT, json=[{"id": 1, "name": "cadre"}])
    client = make_client()
    assert client.call("core_cohort_get_cohorts", {}, write=False) == [{"id": 1, "name": "cadre"}]
    assert len(responses.calls) == 3


@responses.activate
def test_a_write_whose_answer_broke_off_is_not_repeated() -> None:
    responses.post(ENDPOINT, body=b'[{"id": 1, "username": "T1', content_type="application/json")
    with pytest.raises(TruncatedAnswerError) as caught:
        make_client().call("core_user_create_users", {"users": []}, write=True)
    assert isinstance(caught.value, ProtocolError) and isinstance(caught.value, TransientError)
    assert len(responses.calls) == 1


@responses.activate
def test_a_write_is_never_repeated() -> None:
    responses.post(ENDPOINT, body="<html>busy</html>", status=503)
    responses.post(ENDPOINT, json=None)
    with pytest.raises(TransientError):
        make_client().call("enrol_manual_enrol_users", {"enrolments": [{"userid": 1}]}, write=True)
    assert len(responses.calls) == 1


@responses.activate
def test_a_timed_out_write_is_not_repeated() -> None:
    responses.post(ENDPOINT, body=requests.Timeout("slow"))
    with pytest.raises(TransientError, match="no answer within"):
        make_client().call("core_user_create_users", {"users": []}, write=True)
    assert len(responses.calls) == 1


@responses.activate
def test_an_error_body_is_an_error_whatever_the_status() -> None:
    responses.post(ENDPOINT, status=200, json={"exception": "TypeError", "message": "[dirroot]/x.php"})
    with pytest.raises(MoodleError) as caught:
        make_client().call("enrol_manual_enrol_users", {}, write=True)
    assert type(caught.value) is MoodleError and caught.value.errorcode is None


@pytest.mark.parametrize(
    ("status", "content_type", "body", "phrase"),
    [
        (200, "text/html", b"<!DOCTYPE html><html><body>Welcome</body></html>", "HTML page"),
        (200, "application/xml", b"<?xml version='1.0'?><RESPONSE/>", "XML"),
        (200, "application/json", b'{"id": 3, "username": "ws', "truncated"),
        (404, "text/html", b"<html>not found</html>", "HTML page"),
        (403, "text/html", b"", "web services or its REST protocol are disabled"),
    ],
    ids=["html", "xml", "truncated", "404", "ws-disabled"],
)
def test_answers_that_are_not_web_service_answers(status, content_type, body, phrase) -> None:
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, body=body, status=status, content_type=content_type)
        with pytest.raises(ProtocolError, match=phrase):
            make_client(retries=0).call("core_webservice_get_site_info", {}, write=False)


def test_unreachable_site_is_transient_and_says_why() -> None:
    client = MoodleClient("http://127.0.0.1:9", TOKEN, timeout=2, retries=0)
    with pytest.raises(TransientError, match="connection refused"):
        client.call("core_webservice_get_site_info", {}, write=False)


@responses.activate
def test_warnings_reach_the_caller() -> None:
    warning = {"item": "course", "itemid": 7, "warningcode": "requireloginerror",
               "message": "Course or activity not accessible."}
    responses.post(ENDPOINT, json={"warnings": [warning, {"warningcode": "3", "message": "member"}]})
    data = make_client().call("core_course_update_courses", {}, write=True)
    result = WriteResult(warnings_of(data, "core_course_update_courses"))
    assert [w.warningcode for w in result.warnings] == ["requireloginerror", "3"]
    assert result.warnings[0].itemid == 7 and result.warnings[1].item is None


@responses.activate
def test_the_token_never_appears_in_repr_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    responses.post(ENDPOINT, status=503, body="")
    responses.post(ENDPOINT, json={"exception": "x", "errorcode": "invalidtoken", "message": "bad"})
    client = make_client()
    with pytest.raises(InvalidTokenError) as caught:
        client.call("core_webservice_get_site_info", {}, write=False)
    texts = [repr(client), repr(client.transport), str(caught.value), repr(caught.value),
             caplog.text]
    assert all(TOKEN not in text for text in texts)


def test_batches_cut_in_order() -> None:
    client = make_client(batch_size=3)
    assert [list(b) for b in client.batches(list(range(8)))] == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert list(client.batches([])) == []


def test_fan_out_keeps_order_and_raises_the_first_error_after_all_ran() -> None:
    client = make_client(max_workers=4)
    ran: list[int] = []

    def work(item: int) -> int:
        ran.append(item)
        if item == 2:
            raise ValueError("two")
        return item * 10

    assert client.fan_out(lambda i: i * 10, range(6)) == [0, 10, 20, 30, 40, 50]
    with pytest.raises(ValueError, match="two"):
        client.fan_out(work, range(6))
    assert sorted(ran) == list(range(6))
    client.close()


def test_a_fan_out_inside_a_fan_out_runs_in_its_thread() -> None:
    """Every pool thread busy with an outer fan-out must not wait for the pool to run an inner one."""
    client = make_client(max_workers=2)
    outer_threads: set[str] = set()

    def outer(item: int) -> list[tuple[int, str]]:
        outer_threads.add(threading.current_thread().name)
        return client.fan_out(lambda inner: (item * 10 + inner, threading.current_thread().name), range(3))

    results = client.fan_out(outer, range(4))
    assert [[value for value, _ in inner] for inner in results] == [[0, 1, 2], [10, 11, 12], [20, 21, 22],
                                                                   [30, 31, 32]]
    assert {name for inner in results for _, name in inner} <= outer_threads
    client.close()


def test_retry_delays_grow_and_are_capped() -> None:
    retry = Retry(attempts=6, base_delay=0.5, max_delay=2.0)
    for attempt in range(1, 6):
        assert 0 <= retry.delay(attempt) <= min(2.0, 0.5 * 2 ** (attempt - 1))
    assert retry.should_retry(1, write=False) and not retry.should_retry(6, write=False)
    assert not retry.should_retry(1, write=True)
