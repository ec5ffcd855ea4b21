"""core_user client: every recorded call of its functions is sent as recorded and its answer read.

Recordings: ``scenarios/`` (5.1), ``scenarios-4.5/`` and ``single-calls-5.1/`` of the shared contract.
A success must parse into the typed result; an error must raise the ``MoodleError`` subclass its
``errorcode`` maps to. Where the recording has the form it sent, the client must send the same pairs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from moodle_bridge import MoodleClient, MoodleError, ProtocolError
from moodle_bridge.areas.core_user import (
    CreatedUser,
    NewUser,
    User,
    UsersResult,
    UserUpdate,
)
from moodle_bridge.errors import ERRORCODE_CLASSES
from moodle_bridge.fake.external import decode_form

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "moodle-contract"
URL = "http://moodle.test"
ENDPOINT = URL + "/webservice/rest/server.php"
FUNCTIONS = ("core_user_create_users", "core_user_update_users", "core_user_get_users_by_field",
             "core_user_get_users", "core_user_delete_users")
_REF = re.compile(r"\$\{(s\d+)\.response((?:\[\d+\]|\.\w+)*)\}")
_PART = re.compile(r"\[(\d+)\]|\.(\w+)")

pytestmark = pytest.mark.skipif(not CONTRACT.is_dir(), reason=f"no contract recordings at {CONTRACT}")


@dataclass
class Recorded:
    name: str
    function: str
    params: dict[str, Any]
    form: list[tuple[str, str]] | None
    status: int
    response: Any
    content_type: str = "application/json"


def _resolve(value: Any, answers: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            node = answers[whole.group(1)]
            for index, key in _PART.findall(whole.group(2)):
                node = node[int(index)] if index else node[key]
            return node
        return value
    if isinstance(value, list):
        return [_resolve(item, answers) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, answers) for key, item in value.items()}
    return value


def recordings(functions: tuple[str, ...]) -> Iterator[Recorded]:
    if not CONTRACT.is_dir():
        return
    for folder in ("scenarios", "scenarios-4.5"):
        for path in sorted((CONTRACT / folder).glob("*.json")):
            answers: dict[str, Any] = {}
            for step in json.loads(path.read_text("utf-8"))["steps"]:
                answers[step["id"]] = step.get("response")
                if step.get("function") in functions and step.get("method") != "GET":
                    encoded = step.get("encoded")
                    form = [(p[0], p[1]) for p in encoded] if encoded is not None else None
                    yield Recorded(f"{folder}/{path.stem}/{step['id']}", step["function"],
                                   _resolve(step.get("params") or {}, answers), form,
                                   step["http_status"], step["response"])
    for path in sorted((CONTRACT / "single-calls-5.1").glob("*.json")):
        if path.name.startswith("_index"):
            continue
        call = json.loads(path.read_text("utf-8"))
        if call.get("function") not in functions:
            continue
        params = call.get("params") or {}
        form = None
        if call.get("form_fields") is not None:
            form = [(p[0], p[1]) for p in call["form_fields"]
                    if p[0] not in ("wsfunction", "moodlewsrestformat")]
        elif call.get("method") == "GET":
            form = [(k, str(v)) for k, v in params.items() if k not in ("wsfunction", "moodlewsrestformat")]
            params = _listify(decode_form(form))
        yield Recorded(f"single-calls-5.1/{path.stem}", call["function"], params, form,
                       call["http_status"], call["response"], call.get("content_type") or "")


def body_of(call: Any) -> str:
    """The form a stubbed call sent, as text."""
    body = call.request.body
    return body.decode("utf-8") if isinstance(body, bytes) else str(body or "")


def _listify(value: Any) -> Any:
    """PHP form arrays (``a[0]=x``) decoded as dicts keyed "0", "1"... turned back into lists."""
    if isinstance(value, dict):
        if value and all(key.isdigit() for key in value):
            return [_listify(value[key]) for key in sorted(value, key=int)]
        return {key: _listify(item) for key, item in value.items()}
    return value


def _abridged(value: Any) -> bool:
    return "... " in json.dumps(value)


def make_client() -> MoodleClient:
    return MoodleClient(URL, "0" * 32, timeout=5, retries=0, batch_size=1000)


def _build(cls: type, record: dict[str, Any]) -> tuple[Any, bool]:
    """An input dataclass from a recorded item; False when a required field had to be made up."""
    names = {spec.name for spec in fields(cls)}
    kwargs = {k: v for k, v in record.items() if k in names and k not in ("customfields", "preferences")}
    if record.get("customfields"):
        kwargs["customfields"] = {item["type"]: item["value"] for item in record["customfields"]}
    if record.get("preferences"):
        kwargs["preferences"] = {item["type"]: item["value"] for item in record["preferences"]}
    complete = True
    for spec in fields(cls):
        required = spec.default is MISSING and spec.default_factory is MISSING
        if spec.name not in kwargs and required:
            kwargs[spec.name] = 0 if spec.name == "id" else ""
            complete = False
    return cls(**kwargs), complete


def invoke(client: MoodleClient, fn: str, params: dict[str, Any]) -> tuple[Callable[[], Any], bool]:
    """The client call that makes the recorded request, and whether it can send exactly its form."""
    area = client.core_user
    if fn == "core_user_create_users":
        built = [_build(NewUser, user) for user in params["users"]]
        return (lambda: area.create_users([user for user, _ in built])), all(ok for _, ok in built)
    if fn == "core_user_update_users":
        updates = [_build(UserUpdate, user) for user in params["users"]]
        return (lambda: area.update_users([u for u, _ in updates])), all(ok for _, ok in updates)
    if fn == "core_user_get_users_by_field":
        return (lambda: area.get_users_by_field(params.get("field", "username"), params["values"])), \
            "field" in params
    if fn == "core_user_get_users":
        criteria = {item["key"]: item["value"] for item in params["criteria"]}
        return (lambda: area.get_users(criteria, strict=False)), True
    if fn == "core_user_delete_users":
        return (lambda: area.delete_users(params["userids"])), True
    raise AssertionError(fn)


CASES = list(recordings(FUNCTIONS))


def test_the_recordings_of_core_user_are_found() -> None:
    assert len(CASES) >= 40
    assert {case.function for case in CASES} == set(FUNCTIONS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@responses.activate
def test_recorded_call(case: Recorded) -> None:
    if _abridged(case.params) or _abridged(case.response):
        pytest.skip("the recording is abridged (198 users shown as a placeholder)")
    body = case.response.get("_non_json_body") if isinstance(case.response, dict) else None
    if body is not None:
        responses.post(ENDPOINT, body=body, status=case.status, content_type=case.content_type)
    else:
        responses.post(ENDPOINT, json=case.response, status=case.status)
    with make_client() as client:
        call, exact = invoke(client, case.function, case.params)
        if body is not None:
            with pytest.raises(ProtocolError):
                call()
        elif isinstance(case.response, dict) and "exception" in case.response:
            expected = ERRORCODE_CLASSES.get(case.response.get("errorcode") or "", MoodleError)
            with pytest.raises(MoodleError) as caught:
                call()
            assert type(caught.value) is expected
            assert caught.value.errorcode == case.response.get("errorcode")
            assert caught.value.wsfunction == case.function
        else:
            check_result(case, call())
    sent = [(k, v) for k, v in parse_qsl(body_of(responses.calls[0]), keep_blank_values=True)
            if k not in ("wstoken", "wsfunction", "moodlewsrestformat")]
    assert dict(parse_qsl(body_of(responses.calls[0])))["wsfunction"] == case.function
    if case.form is not None and exact:
        assert sent == case.form


def check_result(case: Recorded, result: Any) -> None:
    response = case.response
    if case.function == "core_user_create_users":
        assert [(u.id, u.username) for u in result] == [(r["id"], r["username"]) for r in response]
        assert all(isinstance(u, CreatedUser) for u in result)
    elif case.function == "core_user_update_users":
        assert [(w.warningcode, w.itemid, w.item) for w in result.warnings] == \
            [(w["warningcode"], w.get("itemid"), w.get("item")) for w in response["warnings"]]
    elif case.function == "core_user_get_users_by_field":
        assert all(isinstance(u, User) for u in result)
        assert [u.id for u in result] == [r["id"] for r in response]
        for user, raw in zip(result, response, strict=True):
            assert user.username == raw.get("username")
            assert user.idnumber == raw.get("idnumber")
            assert user.suspended is raw.get("suspended", False)
            assert [p.name for p in user.preferences] == [p["name"] for p in raw.get("preferences", [])]
    elif case.function == "core_user_get_users":
        assert isinstance(result, UsersResult)
        assert [u.id for u in result.users] == [r["id"] for r in response["users"]]
        assert [w.warningcode for w in result.warnings] == [w["warningcode"] for w in response["warnings"]]
    elif case.function == "core_user_delete_users":
        assert result is None


# --- behaviour of the client beyond the recordings ---------------------------------------------------

def _forms() -> list[dict[str, str]]:
    return [dict(parse_qsl(body_of(call))) for call in responses.calls]


@responses.activate
def test_create_users_sends_batches_and_notes_what_earlier_batches_created() -> None:
    responses.post(ENDPOINT, json=[{"id": 10, "username": "a"}, {"id": 11, "username": "b"}])
    responses.post(ENDPOINT, json={"exception": "core\\exception\\invalid_parameter_exception",
                                   "errorcode": "invalidparameter",
                                   "message": "Invalid parameter value detected"})
    users = [NewUser(username=n, password="Pass-word-1", firstname="F", lastname="L", email=f"{n}@x.test")
             for n in ("a", "b", "c")]
    with MoodleClient(URL, "0" * 32, retries=0, batch_size=2) as client, \
            pytest.raises(MoodleError) as caught:
        client.core_user.create_users(users)
    assert len(responses.calls) == 2
    assert _forms()[1]["users[0][username]"] == "c"
    assert any("2 of 3 users were created" in note and "a, b" in note
               for note in caught.value.__notes__)


@responses.activate
def test_update_users_merges_warnings_of_every_batch_and_sends_suspended_as_1_0() -> None:
    def warning(itemid: int) -> dict[str, Any]:
        return {"warnings": [{"item": "user", "itemid": itemid, "warningcode": "invaliduserid",
                              "message": "Invalid user ID"}]}

    responses.post(ENDPOINT, json=warning(1))
    responses.post(ENDPOINT, json=warning(3))
    updates = [UserUpdate(id=1, suspended=True), UserUpdate(id=2, suspended=False),
               UserUpdate(id=3, customfields={"grade": "A"}, preferences={"x": "1"})]
    with MoodleClient(URL, "0" * 32, retries=0, batch_size=2) as client:
        result = client.core_user.update_users(updates)
    assert [w.itemid for w in result.warnings] == [1, 3]
    first, second = _forms()
    assert first["users[0][suspended]"] == "1" and first["users[1][suspended]"] == "0"
    assert second["users[0][customfields][0][type]"] == "grade"
    assert second["users[0][customfields][0][value]"] == "A"
    assert second["users[0][preferences][0][type]"] == "x"


def test_get_users_refuses_keys_moodle_would_ignore() -> None:
    with make_client() as client:
        with pytest.raises(ValueError, match="department"):
            client.core_user.get_users({"department": "x"})
        with pytest.raises(ValueError):
            client.core_user.get_users({})


@responses.activate
def test_get_users_by_field_chunks_values_and_keeps_each_user_once() -> None:
    user = {"id": 5, "fullname": "A B", "idnumber": "E1", "customfields": [
        {"name": "Grade", "shortname": "grade", "type": "text", "value": "A", "displayvalue": "A"}]}
    responses.post(ENDPOINT, json=[user])
    responses.post(ENDPOINT, json=[user, {"id": 6, "fullname": "C D", "idnumber": "E1"}])
    with MoodleClient(URL, "0" * 32, retries=0, batch_size=2) as client:
        found = client.core_user.get_users_by_field("idnumber", ["E1", "E2", "E3"])
    assert [u.id for u in found] == [5, 6]
    assert found[0].custom("grade") == "A" and found[0].custom("nope") is None
    assert found[0].username is None  # not sent: unknown, not empty
    assert [f["values[0]"] for f in _forms()] == ["E1", "E3"]
