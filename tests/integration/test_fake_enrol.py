"""enrol_manual, core_enrol and core_role against the fake Moodle over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moodle_bridge import (
    AccessDeniedError,
    InvalidParameterError,
    MoodleClient,
    MoodleError,
    NotFoundError,
)
from moodle_bridge.areas.core_course import NewCourse
from moodle_bridge.areas.core_group import GroupMember, NewGroup
from moodle_bridge.areas.core_role import RoleAssignment
from moodle_bridge.areas.enrol_manual import Enrolment, Unenrolment
from moodle_bridge.fake import RunningFake, serve, stock_site
from tests.factories import make_users

from ..conftest import TOKEN, WEAK_TOKEN

pytestmark = pytest.mark.integration

FUTURE = 4102444800  # 2100-01-01


def make_course(client: MoodleClient, shortname: str = "E1") -> int:
    return client.core_course.create_courses([NewCourse(fullname=f"Course {shortname}", shortname=shortname,
                                                        categoryid=1, enablecompletion=True)])[0].id


def test_enrol_states_and_listing(fake: RunningFake, client: MoodleClient) -> None:
    active, future, suspended, teacher = make_users(fake.site, 4)
    courseid = make_course(client)
    client.enrol_manual.enrol_users([
        Enrolment(active, courseid), Enrolment(future, courseid, timestart=FUTURE),
        Enrolment(suspended, courseid, suspend=True), Enrolment(teacher, courseid, roleid=4)])
    everyone = client.core_enrol.get_enrolled_users(courseid)
    assert [u.id for u in everyone] == [active, future, suspended, teacher]
    assert everyone[0].username == "u0" and everyone[0].idnumber == "EMP-u0" and everyone[0].email
    assert everyone[0].role_shortnames == {"student"} and everyone[3].role_shortnames == {"teacher"}
    assert [c.id for c in everyone[0].enrolledcourses] == [courseid]
    assert everyone[1].enrolledcourses == () and everyone[2].enrolledcourses == ()
    only = client.core_enrol.get_enrolled_users(courseid, onlyactive=True, userfields=["id", "roles"])
    assert [u.id for u in only] == [active, teacher]
    assert only[0].username is None and only[0].fullname == "F0 L0"
    suspended_only = client.core_enrol.get_enrolled_users(courseid, onlysuspended=True)
    assert [u.id for u in suspended_only] == [future, suspended]


def test_reenrol_is_idempotent_and_adds_roles(fake: RunningFake, client: MoodleClient) -> None:
    (user,) = make_users(fake.site, 1)
    courseid = make_course(client)
    client.enrol_manual.enrol_users([Enrolment(user, courseid)])
    client.enrol_manual.enrol_users([Enrolment(user, courseid)])
    with fake.site.lock:
        assert len(fake.site.db["user_enrolments"].select(userid=user)) == 1
        assert len(fake.site.db["role_assignments"].select(userid=user)) == 1
    client.enrol_manual.enrol_users([Enrolment(user, courseid, roleid=3)])
    roles = client.core_enrol.get_enrolled_users(courseid)[0].roles
    assert [r.shortname for r in roles] == ["editingteacher", "student"]
    teachers = client.core_enrol.get_enrolled_users(courseid, withcapability="moodle/course:manageactivities")
    assert [u.id for u in teachers] == [user]


def test_enrol_errors_are_all_or_nothing(fake: RunningFake, client: MoodleClient) -> None:
    good, other = make_users(fake.site, 2)
    courseid = make_course(client)
    with pytest.raises(NotFoundError):
        client.enrol_manual.enrol_users([Enrolment(good, courseid), Enrolment(999999, courseid)])
    assert client.core_enrol.get_enrolled_users(courseid) == []
    with pytest.raises(InvalidParameterError):
        client.enrol_manual.enrol_users([Enrolment(other, 999999)])
    with pytest.raises(AccessDeniedError) as manager:
        client.enrol_manual.enrol_users([Enrolment(other, courseid, roleid=1)])
    assert manager.value.errorcode == "wsusercannotassign"
    assert manager.value.message == (f"You don't have the permission to assign this role (1) to this user "
                                     f"({other}) in this course ({courseid}).")
    with pytest.raises(MoodleError) as site:
        client.enrol_manual.enrol_users([Enrolment(other, 1)])
    assert site.value.errorcode == "wsnoinstance"


@pytest.fixture
def locked() -> Iterator[RunningFake]:
    """A site whose service role may not assign roles yet (as before an admin allows it)."""
    site = stock_site(tokens={"wsbot": TOKEN, "weak": WEAK_TOKEN}, role_can_assign=False)
    with serve(site) as running:
        yield running


def test_cannot_enrol_until_role_assignment_is_allowed(locked: RunningFake) -> None:
    with MoodleClient(locked.url, TOKEN, timeout=10, retries=0) as client:
        (user,) = make_users(locked.site, 1)
        courseid = make_course(client)
        with pytest.raises(AccessDeniedError) as caught:
            client.enrol_manual.enrol_users([Enrolment(user, courseid)])
        assert caught.value.errorcode == "wsusercannotassign"
        locked.site.site_action("allow_role_assign", {"role": "cadrecompanion", "targets": [3, 4, 5]})
        client.enrol_manual.enrol_users([Enrolment(user, courseid)])
        assert [u.id for u in client.core_enrol.get_enrolled_users(courseid)] == [user]


def test_reactivation_fails_after_committing(fake: RunningFake, client: MoodleClient) -> None:
    (user,) = make_users(fake.site, 1)
    courseid = make_course(client)
    client.enrol_manual.enrol_users([Enrolment(user, courseid, suspend=True)])
    with pytest.raises(MoodleError) as caught:
        client.enrol_manual.enrol_users([Enrolment(user, courseid, suspend=False)])
    assert caught.value.errorcode == "Message was not sent."
    assert [u.id for u in client.core_enrol.get_enrolled_users(courseid, onlyactive=True)] == [user]
    client.enrol_manual.enrol_users([Enrolment(user, courseid, suspend=True)])
    fake.site.site_action("set_config", {"name": "noemailever", "value": 1})
    client.enrol_manual.enrol_users([Enrolment(user, courseid)])  # a site that sends no mail: no error


def test_unenrol_removes_roles_and_groups(fake: RunningFake, client: MoodleClient) -> None:
    user, stranger = make_users(fake.site, 2)
    courseid = make_course(client)
    client.enrol_manual.enrol_users([Enrolment(user, courseid), Enrolment(user, courseid, roleid=4)])
    group = client.core_group.create_groups([NewGroup(courseid, "G")])[0]
    client.core_group.add_group_members([GroupMember(group.id, user)])
    client.enrol_manual.unenrol_users([Unenrolment(user, courseid)])
    assert client.core_enrol.get_enrolled_users(courseid) == []
    with fake.site.lock:
        assert fake.site.db["role_assignments"].select(userid=user) == []
    assert client.core_group.get_group_members([group.id])[0].userids == ()
    client.enrol_manual.unenrol_users([Unenrolment(user, courseid), Unenrolment(stranger, courseid)])
    with pytest.raises(NotFoundError):
        client.enrol_manual.unenrol_users([Unenrolment(user, 999999)])


def test_paging_never_truncates(fake: RunningFake, client: MoodleClient) -> None:
    users = make_users(fake.site, 7)
    courseid = make_course(client)
    client.enrol_manual.enrol_users([Enrolment(u, courseid) for u in reversed(users)])
    first = client.core_enrol.get_enrolled_users(courseid, limitfrom=0, limitnumber=3, sortby="id")
    assert [u.id for u in first] == users[:3]
    before = fake.site.calls["core_enrol_get_enrolled_users"]
    every = list(client.core_enrol.iter_enrolled_users(courseid, page_size=3, userfields=["id", "username"]))
    assert [u.id for u in every] == users
    assert fake.site.calls["core_enrol_get_enrolled_users"] - before == 3
    exact = list(client.core_enrol.iter_enrolled_users(courseid, page_size=7))
    assert len(exact) == 7
    last = client.core_enrol.get_enrolled_users(courseid, sortby="lastname", sortdirection="DESC",
                                                limitnumber=1)
    assert last[0].lastname == "L6"


def test_parallel_batches(fake: RunningFake) -> None:
    users = make_users(fake.site, 10)
    with MoodleClient(fake.url, TOKEN, timeout=10, retries=0, batch_size=3, max_workers=4) as client:
        courseid = make_course(client)
        before = fake.site.calls["enrol_manual_enrol_users"]
        client.enrol_manual.enrol_users([Enrolment(u, courseid) for u in users], parallel=True)
        assert fake.site.calls["enrol_manual_enrol_users"] - before == 4
        assert fake.site.items["enrol_manual_enrol_users"] >= 10
        assert sorted(u.id for u in client.core_enrol.get_enrolled_users(courseid)) == users
        client.enrol_manual.unenrol_users([Unenrolment(u, courseid) for u in users], parallel=True)
        assert client.core_enrol.get_enrolled_users(courseid) == []


def test_users_courses(fake: RunningFake, client: MoodleClient) -> None:
    user, other = make_users(fake.site, 2)
    one, two = make_course(client, "UC1"), make_course(client, "UC2")
    client.enrol_manual.enrol_users([Enrolment(user, one), Enrolment(other, one),
                                     Enrolment(user, two, suspend=True)])
    courses = client.core_enrol.get_users_courses(user)
    assert [c.id for c in courses] == [one]
    assert courses[0].enrolledusercount == 2 and courses[0].completionusertracked is True
    assert courses[0].progress is None and courses[0].completed is False
    assert client.core_enrol.get_users_courses(user, returnusercount=False)[0].enrolledusercount is None
    assert client.core_enrol.get_users_courses(999999) == []


def test_enrolment_methods_hide_manual(fake: RunningFake, client: MoodleClient) -> None:
    courseid = make_course(client)
    assert client.core_enrol.get_course_enrolment_methods(courseid) == []
    with fake.site.lock:
        instance = fake.site.db["enrol"].first(courseid=courseid, enrol="self")
        assert instance is not None
        instance["status"] = 0
    methods = client.core_enrol.get_course_enrolment_methods(courseid)
    assert [(m.type, m.available) for m in methods] == [("self", True)]
    with pytest.raises(NotFoundError):
        client.core_enrol.get_course_enrolment_methods(999999)


def test_assign_roles(fake: RunningFake, client: MoodleClient) -> None:
    student, outsider = make_users(fake.site, 2)
    courseid = make_course(client)
    client.enrol_manual.enrol_users([Enrolment(student, courseid)])
    client.core_role.assign_roles([
        RoleAssignment(4, student, contextlevel="course", instanceid=courseid),
        RoleAssignment(5, outsider, contextlevel="course", instanceid=courseid)])
    users = client.core_enrol.get_enrolled_users(courseid)
    assert [u.id for u in users] == [student]  # a role alone is not an enrolment
    assert users[0].role_shortnames == {"student", "teacher"}
    with pytest.raises(InvalidParameterError):
        client.core_role.assign_roles([RoleAssignment(999, student, contextlevel="course",
                                                      instanceid=courseid)])


def test_weak_token(fake: RunningFake, client: MoodleClient) -> None:
    (user,) = make_users(fake.site, 1)
    courseid = make_course(client)
    with MoodleClient(fake.url, WEAK_TOKEN, timeout=10, retries=0) as weak:
        with pytest.raises(AccessDeniedError) as enrol:
            weak.enrol_manual.enrol_users([Enrolment(user, courseid)])
        assert enrol.value.errorcode == "requireloginerror"
        with pytest.raises(MoodleError) as listing:
            weak.core_enrol.get_enrolled_users(courseid)
        assert listing.value.errorcode == "errorcoursecontextnotvalid"


def test_onlyactive_needs_enrolreview(fake: RunningFake, client: MoodleClient) -> None:
    (user,) = make_users(fake.site, 1)
    courseid = make_course(client)
    client.enrol_manual.enrol_users([Enrolment(user, courseid)])
    fake.site.site_action("set_capabilities", {"userid": 3, "capabilities": [
        "webservice/rest:use", "moodle/course:view", "moodle/course:viewparticipants",
        "moodle/user:viewdetails"]})
    assert [u.id for u in client.core_enrol.get_enrolled_users(courseid)] == [user]
    with pytest.raises(AccessDeniedError) as caught:
        client.core_enrol.get_enrolled_users(courseid, onlyactive=True)
    assert caught.value.message.endswith("(Review course enrolments).")


def test_users_with_capability(fake: RunningFake, client: MoodleClient) -> None:
    student, teacher = make_users(fake.site, 2)
    courseid = make_course(client)
    client.enrol_manual.enrol_users([Enrolment(student, courseid), Enrolment(teacher, courseid, roleid=3)])
    result = client.core_enrol.get_enrolled_users_with_capability(
        {courseid: ["mod/assign:grade", "mod/assign:submit"]})
    assert [(r.capability, [u.id for u in r.users]) for r in result] == [
        ("mod/assign:grade", [teacher]), ("mod/assign:submit", [student])]


def test_parallel_batches_use_the_sites_workers() -> None:
    """With Moodle's cost per enrolment (simulated: 10 ms each, 4 PHP workers), sequential batches reach the
    site one at a time and parallel ones several at once (the fake counts the calls it serves at once; the
    time saved is the provisioning benchmark's to measure)."""
    from moodle_bridge.fake import Latency

    site = stock_site(tokens={"wsbot": TOKEN})
    latency = Latency(per_item_ms_by_function={"enrol_manual_enrol_users": 10.0}, workers=4)
    with serve(site, latency=latency) as running, \
            MoodleClient(running.url, TOKEN, timeout=10, retries=0, batch_size=10, max_workers=4) as client:
        users = make_users(running.site, 40)
        one, two = make_course(client, "PA1"), make_course(client, "PA2")
        running.app.peak_in_flight = 0
        client.enrol_manual.enrol_users([Enrolment(u, one) for u in users])
        sequential = running.app.peak_in_flight
        running.app.peak_in_flight = 0
        client.enrol_manual.enrol_users([Enrolment(u, two) for u in users], parallel=True)
        parallel = running.app.peak_in_flight
    assert site.calls["enrol_manual_enrol_users"] == 8  # 4 batches of 10, twice
    assert sequential == 1
    assert 1 < parallel <= 4  # never more than the site's workers
