"""core_user against the fake Moodle over HTTP: the semantics the recordings showed."""

from __future__ import annotations

import pytest

from moodle_bridge import (
    AccessDeniedError,
    InvalidParameterError,
    MoodleClient,
    MoodleError,
    NotFoundError,
)
from moodle_bridge.areas.core_user import NewUser, UserUpdate
from moodle_bridge.fake import RunningFake

pytestmark = pytest.mark.integration
PASSWORD = "Lab-User-2026!"


def person(n: int, **extra: object) -> NewUser:
    fields: dict[str, object] = {
        "username": f"it-u{n}", "password": PASSWORD, "firstname": f"F{n}", "lastname": f"L{n}",
        "email": f"it-u{n}@college.example", "idnumber": f"EMP{n:04d}", "department": "组织部 Dept",
        "institution": "Party School"}
    fields.update(extra)
    return NewUser(**fields)  # type: ignore[arg-type]


def debug_on(fake: RunningFake) -> None:
    fake.site.site_action("set_config", {"name": "debug", "value": 32767})


def test_created_users_are_found_by_every_field(client: MoodleClient) -> None:
    created = client.core_user.create_users([person(1), person(2)])
    assert [u.username for u in created] == ["it-u1", "it-u2"]
    by_username = client.core_user.get_users_by_field("username", ["it-u1", "nobody"])
    assert [u.id for u in by_username] == [created[0].id]
    user = by_username[0]
    assert (user.firstname, user.lastname, user.fullname) == ("F1", "L1", "F1 L1")
    assert (user.idnumber, user.department, user.institution) == ("EMP0001", "组织部 Dept", "Party School")
    assert (user.email, user.auth, user.suspended, user.confirmed) == (
        "it-u1@college.example", "manual", False, True)
    assert user.preferences == ()  # only the token's own user gets preferences
    assert [u.id for u in client.core_user.get_users_by_field("idnumber", ["EMP0002"])] == [created[1].id]
    assert [u.id for u in client.core_user.get_users_by_field("email", ["it-u2@college.example"])] \
        == [created[1].id]
    assert [u.username for u in client.core_user.get_users_by_field("id", [created[1].id, 999999])] \
        == ["it-u2"]


def test_idnumber_is_not_unique_in_moodle(client: MoodleClient) -> None:
    client.core_user.create_users([person(1)])
    client.core_user.create_users([person(2, idnumber="EMP0001")])
    twins = client.core_user.get_users_by_field("idnumber", ["EMP0001"])
    assert sorted(u.username or "" for u in twins) == ["it-u1", "it-u2"]


def test_create_users_is_all_or_nothing(client: MoodleClient, fake: RunningFake) -> None:
    client.core_user.create_users([person(1)])
    with pytest.raises(InvalidParameterError):
        client.core_user.create_users([person(2), person(3, username="it-u1")])
    assert client.core_user.get_users_by_field("username", ["it-u2", "it-u3"]) == []
    with pytest.raises(InvalidParameterError):
        client.core_user.create_users([person(4), person(4, idnumber="other")])  # same username twice
    assert client.core_user.get_users_by_field("username", ["it-u4"]) == []
    # The ids the failed calls took are not given back, as with a database sequence.
    next_user = client.core_user.create_users([person(5)])[0]
    assert next_user.id > fake.site.db["user"].count()


BAD_USERS: list[tuple[dict[str, object], str]] = [
    ({"username": "it-u1", "email": "dup-user@college.example"}, "Username already exists: it-u1"),
    ({"email": "IT-U1@college.example"}, "Email address already exists: IT-U1@college.example"),
    ({"email": "not-an-email"}, "Email address is invalid: not-an-email"),
    ({"firstname": "  "}, "The field firstname cannot be blank"),
    ({"password": None}, "Invalid password: you must provide a password, or set createpassword."),
    ({"username": "Upper Case"}, 'users => Invalid parameter value detected: username => Invalid '
     'parameter value detected: Invalid external api parameter: the value is "Upper Case", the server '
     'was expecting "username" type'),
]


def test_create_users_errors_say_what_was_wrong_when_the_site_debugs(
        client: MoodleClient, fake: RunningFake) -> None:
    client.core_user.create_users([person(1)])
    for bad, _ in BAD_USERS:
        with pytest.raises(InvalidParameterError) as plain:
            client.core_user.create_users([person(9, **bad)])
        assert plain.value.debuginfo is None
        assert plain.value.message == "Invalid parameter value detected"
    debug_on(fake)
    for bad, debuginfo in BAD_USERS:
        with pytest.raises(InvalidParameterError) as debugged:
            client.core_user.create_users([person(9, **bad)])
        assert debugged.value.debuginfo == debuginfo
    assert client.core_user.get_users_by_field("username", ["it-u9"]) == []


def test_weak_password_fails_with_the_policy_text(client: MoodleClient) -> None:
    with pytest.raises(MoodleError) as caught:
        client.core_user.create_users([person(1, password="a")])
    assert caught.value.errorcode == ("<div>Passwords must be at least 8 characters long.</div>"
                                      "<div>Passwords must have at least 1 digit(s).</div>"
                                      "<div>Passwords must have at least 1 upper case letter(s).</div>"
                                      "<div>The password must have at least 1 special character(s) such "
                                      "as *, -, or #.</div>")
    assert caught.value.message.startswith("error/<div>Passwords")
    assert client.core_user.create_users([person(2, password=None, createpassword=True)])[0].id


def test_create_users_batches_and_a_failing_batch_keeps_the_earlier_ones(
        client: MoodleClient, fake: RunningFake) -> None:
    users = [person(n) for n in range(120)]
    created = client.core_user.create_users(users)
    assert len(created) == 120
    assert fake.site.calls["core_user_create_users"] == 3  # batch_size 50
    more = [person(n) for n in range(200, 260)] + [person(0)]  # the last batch holds a duplicate
    with pytest.raises(InvalidParameterError) as caught:
        client.core_user.create_users(more)
    assert any("50 of 61 users were created" in note for note in caught.value.__notes__)
    assert len(client.core_user.get_users_by_field("username", [u.username for u in more])) == 51


def test_update_users_saves_the_good_users_and_warns_about_the_others(client: MoodleClient) -> None:
    a, b, c = client.core_user.create_users([person(1), person(2), person(3)])
    result = client.core_user.update_users([
        UserUpdate(id=a.id, department="宣传部 Publicity"),
        UserUpdate(id=999999, department="x"),
        UserUpdate(id=b.id, email="bad email"),
        UserUpdate(id=c.id, email="IT-U1@college.example"),
        UserUpdate(id=b.id, username="it-u3"),
        UserUpdate(id=c.id, suspended=True, city="Beijing"),
    ])
    assert [(w.itemid, w.warningcode, w.message) for w in result.warnings] == [
        (999999, "invaliduserid", "Invalid user ID"),
        (b.id, "useremailinvalid", "error/useremailinvalid"),
        (c.id, "useremailduplicate", "Duplicate address"),
        (b.id, "dmlwriteexception", "Error writing to database"),
    ]
    assert all(w.item == "user" for w in result.warnings)
    found = {u.id: u for u in client.core_user.get_users_by_field("id", [a.id, b.id, c.id])}
    assert found[a.id].department == "宣传部 Publicity"
    assert found[b.id].email == "it-u2@college.example" and found[b.id].username == "it-u2"
    assert found[c.id].suspended is True and found[c.id].city == "Beijing"
    assert client.core_user.update_users([UserUpdate(id=c.id, suspended=False)]).warnings == ()
    assert client.core_user.get_users_by_field("id", [c.id])[0].suspended is False


def test_a_weak_new_password_fails_the_call_after_saving_the_others(client: MoodleClient) -> None:
    a, b = client.core_user.create_users([person(1), person(2)])
    with pytest.raises(MoodleError) as caught:
        client.core_user.update_users([UserUpdate(id=a.id, password="weak"),
                                       UserUpdate(id=b.id, city="Saved anyway")])
    assert caught.value.errorcode == "invalidresponse"
    assert client.core_user.get_users_by_field("id", [b.id])[0].city == "Saved anyway"


def test_update_users_batches_warnings_in_order(client: MoodleClient, fake: RunningFake) -> None:
    result = client.core_user.update_users([UserUpdate(id=900000 + n, city="x") for n in range(110)])
    assert [w.itemid for w in result.warnings] == [900000 + n for n in range(110)]
    assert fake.site.calls["core_user_update_users"] == 3


def test_admin_and_guest_cannot_be_updated_by_the_service_user(client: MoodleClient) -> None:
    result = client.core_user.update_users([UserUpdate(id=2, city="x"), UserUpdate(id=1, city="x")])
    assert [w.warningcode for w in result.warnings] == ["usernotupdatedadmin", "usernotupdatedguest"]


def test_get_users_matches_like_and_warns_about_unsupported_keys(client: MoodleClient) -> None:
    client.core_user.create_users([person(1, lastname="欧阳"), person(2, lastname="Ouyang"),
                                   person(3, lastname="OUYANG-li")])
    assert [u.username for u in client.core_user.get_users({"lastname": "欧阳"}).users] == ["it-u1"]
    assert [u.username for u in client.core_user.get_users({"lastname": "ouyang%"}).users] == \
        ["it-u2", "it-u3"]
    assert [u.username for u in client.core_user.get_users(
        {"lastname": "ouyang%", "idnumber": "EMP0003"}).users] == ["it-u3"]
    assert client.core_user.get_users({"idnumber": "nope"}).users == ()
    everyone = client.core_user.get_users({"department": "x"}, strict=False)
    assert [w.warningcode for w in everyone.warnings] == ["invalidfieldparameter"]
    assert everyone.warnings[0].item == "department"
    assert [u.username for u in everyone.users][:4] == ["guest", "admin", "wsbot", "wsweak"]
    assert len(everyone.users) == 7


def test_the_token_user_sees_its_own_preferences(client: MoodleClient) -> None:
    me = client.core_user.get_users_by_field("username", ["wsbot"])[0]
    names = [p.name for p in me.preferences]
    assert names[-1] == "_lastloaded" and "last_time_enrolments_synced" in names


def test_without_view_capabilities_the_answer_is_silently_empty(
        client: MoodleClient, weak_client: MoodleClient, fake: RunningFake) -> None:
    created = client.core_user.create_users([person(1)])[0]
    assert weak_client.core_user.get_users_by_field("username", ["it-u1"]) == []
    fake.site.site_action("set_capabilities", {"userid": 4, "capabilities": [
        "webservice/rest:use", "moodle/user:viewdetails"]})
    # a username needs viewalldetails
    assert weak_client.core_user.get_users_by_field("username", ["it-u1"]) == []
    seen = weak_client.core_user.get_users_by_field("id", [created.id])
    assert [(u.id, u.username, u.idnumber) for u in seen] == [(created.id, None, None)]
    with pytest.raises(AccessDeniedError):
        weak_client.core_user.create_users([person(2)])
    with pytest.raises(AccessDeniedError):
        weak_client.core_user.update_users([UserUpdate(id=created.id, city="x")])


def test_custom_profile_fields_of_defined_fields_are_kept(client: MoodleClient, fake: RunningFake) -> None:
    fake.site.site_action("create_user_profile_field", {"shortname": "rank", "name": "Rank & grade"})
    created = client.core_user.create_users([person(1, customfields={"rank": "A", "nosuch": "x"})])[0]
    user = client.core_user.get_users_by_field("id", [created.id])[0]
    assert user.custom("rank") == "A" and user.custom("nosuch") is None
    assert user.customfields[0].name == "Rank &amp; grade"
    client.core_user.update_users([UserUpdate(id=created.id, customfields={"rank": "B"})])
    assert client.core_user.get_users_by_field("id", [created.id])[0].custom("rank") == "B"


def test_delete_users(client: MoodleClient, fake: RunningFake) -> None:
    a, b = client.core_user.create_users([person(1), person(2)])
    with pytest.raises(NotFoundError):
        client.core_user.delete_users([a.id, 999999])
    assert len(client.core_user.get_users_by_field("id", [a.id, b.id])) == 2  # nothing deleted
    with pytest.raises(MoodleError) as admin:
        client.core_user.delete_users([2])
    assert admin.value.errorcode == "useradminodelete"
    with pytest.raises(MoodleError) as self_delete:
        client.core_user.delete_users([3])
    assert self_delete.value.errorcode == "usernotdeletederror"
    client.core_user.delete_users([a.id])
    assert client.core_user.get_users_by_field("username", ["it-u1"]) == []
    # By id too: Moodle keeps the deleted row but shows no details without the user's context.
    assert [u.id for u in client.core_user.get_users_by_field("id", [a.id, b.id])] == [b.id]
    assert client.core_user.get_users({"idnumber": "EMP0001"}).users == ()
    with pytest.raises(NotFoundError):
        client.core_user.delete_users([a.id])
    # The address is free again: a new account may use it.
    assert client.core_user.create_users([person(3, email="it-u1@college.example")])


def test_function_not_in_the_service(fake: RunningFake) -> None:
    from moodle_bridge import FunctionNotInServiceError

    from ..conftest import SMALL_TOKEN

    with MoodleClient(fake.url, SMALL_TOKEN, retries=0) as small:
        assert [u.username for u in small.core_user.get_users_by_field("username", ["wsbot"])] == ["wsbot"]
        with pytest.raises(FunctionNotInServiceError):
            small.core_user.create_users([person(1)])


def test_unknown_field_is_a_coding_error(client: MoodleClient, fake: RunningFake) -> None:
    debug_on(fake)
    with pytest.raises(MoodleError) as caught:
        client.core_user.get_users_by_field("department", ["x"])  # type: ignore[arg-type]
    assert caught.value.errorcode == "codingerror"
    assert caught.value.debuginfo == ("The search field 'department' is not supported, look at the web "
                                      "service documentation")

