"""core_user client: every recorded call of its functions is sent as recorded and its answer read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any

import pytest
import responses

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.areas.core_user import (
    CreatedUser,
    NewUser,
    User,
    UsersResult,
    UserUpdate,
)
from tests.recordings import (
    ENDPOINT,
    URL,
    Recorded,
    check_recorded,
    endpoint_client,
    needs_recordings,
    posted,
    recorded_calls,
    where,
)

FUNCTIONS = ("core_user_create_users", "core_user_update_users", "core_user_get_users_by_field",
             "core_user_get_users", "core_user_delete_users")

pytestmark = needs_recordings


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


def invoke(fn: str, params: dict[str, Any]) -> tuple[Callable[[MoodleClient], Any], bool]:
    """The client call that makes the recorded request, and whether it can send exactly its form."""
    if fn == "core_user_create_users":
        built = [_build(NewUser, user) for user in params["users"]]
        return (lambda c: c.core_user.create_users([user for user, _ in built])), all(ok for _, ok in built)
    if fn == "core_user_update_users":
        updates = [_build(UserUpdate, user) for user in params["users"]]
        return (lambda c: c.core_user.update_users([u for u, _ in updates])), all(ok for _, ok in updates)
    if fn == "core_user_get_users_by_field":
        field = params.get("field", "username")
        return (lambda c: c.core_user.get_users_by_field(field, params["values"])), "field" in params
    if fn == "core_user_get_users":
        criteria = {item["key"]: item["value"] for item in params["criteria"]}
        return (lambda c: c.core_user.get_users(criteria, strict=False)), True
    if fn == "core_user_delete_users":
        return (lambda c: c.core_user.delete_users(params["userids"])), True
    raise AssertionError(fn)


CASES = recorded_calls(FUNCTIONS)


def test_the_recordings_of_core_user_are_found() -> None:
    assert len(CASES) >= 40
    assert {case.function for case in CASES} == set(FUNCTIONS)


@pytest.mark.parametrize("case", CASES, ids=where(CASES))
def test_recorded_call(case: Recorded) -> None:
    if case.abridged:
        pytest.skip("the recording is abridged (198 users shown as a placeholder)")
    call, exact = invoke(case.function, case.params)
    check_recorded(case, lambda client, _params: call(client), exact=exact,
                   verify=lambda result, _answer: check_result(case, result))


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
    return [posted(call) for call in responses.calls]


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
    with endpoint_client() as client:
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
