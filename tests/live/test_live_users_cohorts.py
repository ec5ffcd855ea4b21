"""core_user and core_cohort against a real Moodle (``MOODLE_URL``, ``MOODLE_TOKEN``).

Every account and cohort made here starts with the run's prefix and is removed at the end (accounts
are suspended instead when the service lacks ``core_user_delete_users``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from moodle_bridge import InvalidParameterError, MoodleClient
from moodle_bridge.areas.core_cohort import CohortMember, CohortMembership, CohortUpdate, NewCohort
from moodle_bridge.areas.core_user import CreatedUser, NewUser, UserUpdate

from .conftest import require_functions

pytestmark = pytest.mark.live
Cleanup = Callable[[Callable[[], object]], None]
PASSWORD = "Cc-Live-2026!x"


def make_users(client: MoodleClient, prefix: str, cleanup: Cleanup, *names: str) -> list[CreatedUser]:
    users = [NewUser(username=f"{prefix}{name}".lower(), password=PASSWORD, firstname="Live",
                     lastname=name, email=f"{prefix}{name}@example.invalid".lower(),
                     idnumber=f"{prefix}{name}", department="Live test")
             for name in names]
    created = client.core_user.create_users(users)
    ids = [user.id for user in created]
    if "core_user_delete_users" in client.preflight(["core_user_delete_users"]).missing:
        cleanup(lambda: client.core_user.update_users([UserUpdate(id=i, suspended=True) for i in ids]))
    else:
        cleanup(lambda: client.core_user.delete_users(ids))
    return created


def test_users_create_find_update_and_all_or_nothing(live_client: MoodleClient, prefix: str,
                                                     cleanup: Cleanup) -> None:
    require_functions(live_client, "core_user_create_users", "core_user_update_users",
                      "core_user_get_users_by_field", "core_user_get_users")
    area = live_client.core_user
    first, second = make_users(live_client, prefix, cleanup, "u1", "u2")
    found = area.get_users_by_field("username", [first.username, second.username])
    assert sorted(u.id for u in found) == sorted([first.id, second.id])
    if not found or found[0].idnumber is None:
        pytest.skip("the token cannot see idnumbers (needs moodle/user:viewalldetails)")
    assert [u.id for u in area.get_users_by_field("idnumber", [f"{prefix}u1"])] == [first.id]

    result = area.update_users([UserUpdate(id=first.id, department="Live updated"),
                                UserUpdate(id=second.id, suspended=True),
                                UserUpdate(id=first.id, email="not an email")])
    assert [(w.itemid, w.warningcode) for w in result.warnings] == [(first.id, "useremailinvalid")]
    after = {u.id: u for u in area.get_users_by_field("id", [first.id, second.id])}
    assert after[first.id].department == "Live updated"
    assert after[second.id].suspended is True

    by_lastname = area.get_users({"lastname": "u%", "idnumber": f"{prefix}u2"})
    assert [u.id for u in by_lastname.users] == [second.id] and by_lastname.warnings == ()

    with pytest.raises(InvalidParameterError):
        area.create_users([
            NewUser(username=f"{prefix}u3".lower(), password=PASSWORD, firstname="Live", lastname="u3",
                    email=f"{prefix}u3@example.invalid".lower()),
            NewUser(username=first.username, password=PASSWORD, firstname="Live", lastname="dup",
                    email=f"{prefix}dup@example.invalid".lower()),
        ])
    assert area.get_users_by_field("username", [f"{prefix}u3".lower()]) == []


def test_cohorts_members_and_idnumbers(live_client: MoodleClient, prefix: str, cleanup: Cleanup) -> None:
    require_functions(live_client, "core_user_create_users", "core_cohort_create_cohorts",
                      "core_cohort_delete_cohorts", "core_cohort_add_cohort_members",
                      "core_cohort_get_cohort_members", "core_cohort_delete_cohort_members",
                      "core_cohort_get_cohorts", "core_cohort_update_cohorts",
                      "core_cohort_search_cohorts")
    area = live_client.core_cohort
    user1, user2 = make_users(live_client, prefix, cleanup, "c1", "c2")
    one, two = area.create_cohorts([NewCohort(name=f"{prefix} Spring & Autumn", idnumber=f"{prefix}COH1"),
                                    NewCohort(name=f"{prefix} Young", idnumber=f"{prefix}COH2")])
    cleanup(lambda: area.delete_cohorts([one.id, two.id]))
    assert one.plain_name == f"{prefix} Spring & Autumn"

    with pytest.raises(InvalidParameterError):
        area.create_cohorts([NewCohort(name="dup", idnumber=f"{prefix}COH1")])

    result = area.add_cohort_members([
        CohortMember(f"{prefix}COH1", f"{prefix}c1", "idnumber", "idnumber"),  # not supported: "1"
        CohortMember.by_idnumber_username(f"{prefix}COH1", user1.username),
        CohortMember(one.id, user2.id),
        CohortMember(one.id, user2.id),  # already a member: "3"
    ])
    assert [w.warningcode for w in result.warnings] == ["1", "3"]
    assert sorted(area.get_cohort_members([one.id])[0].userids) == sorted([user1.id, user2.id])

    area.delete_cohort_members([CohortMembership(one.id, user2.id)])
    area.delete_cohort_members([CohortMembership(one.id, user2.id)])  # not a member any more: no error
    assert area.get_cohort_members([one.id])[0].userids == (user1.id,)

    area.update_cohorts([CohortUpdate(id=two.id, name=f"{prefix} Young", idnumber=f"{prefix}COH1",
                                      visible=False)])
    twins = area.get_cohorts([one.id, two.id])
    assert [c.idnumber for c in twins] == [f"{prefix}COH1", f"{prefix}COH1"]  # Moodle allowed it
    # Moodle orders search results by name: "... Spring & Autumn" before "... Young".
    assert [c.id for c in area.iter_search_cohorts(prefix, includes="all")] == [one.id, two.id]
