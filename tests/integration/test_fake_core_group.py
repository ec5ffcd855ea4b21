"""core_group against the fake Moodle over HTTP."""

from __future__ import annotations

import pytest

from moodle_bridge import DuplicateError, InvalidParameterError, MoodleClient, MoodleError, NotFoundError
from moodle_bridge.areas.core_course import NewCourse
from moodle_bridge.areas.core_group import GroupMember, NewGroup
from moodle_bridge.areas.enrol_manual import Enrolment
from moodle_bridge.fake import RunningFake
from tests.factories import add_user

pytestmark = pytest.mark.integration


def setup_course(fake: RunningFake, client: MoodleClient, enrolled: int,
                 strangers: int = 0) -> tuple[int, list[int]]:
    names = ["Zhang", "Li", "Wang", "Chen", "Liu", "Yang"][:enrolled + strangers]
    users = [add_user(fake.site, f"g{i}", f"F{i}", name, email="", idnumber="")["id"]
             for i, name in enumerate(names)]
    courseid = client.core_course.create_courses([NewCourse(fullname="Groups", shortname="GR1",
                                                            categoryid=1)])[0].id
    client.enrol_manual.enrol_users([Enrolment(u, courseid) for u in users[:enrolled]])
    return courseid, users


def test_groups_unique_names_and_idnumbers(fake: RunningFake, client: MoodleClient) -> None:
    courseid, _ = setup_course(fake, client, 1)
    made = client.core_group.create_groups([
        NewGroup(courseid, "第一小组 Group 1", description="<p>一组</p>", descriptionformat=1, idnumber="G1"),
        NewGroup(courseid, "第二小组 Group 2", idnumber="G2")])
    assert [g.idnumber for g in made] == ["G1", "G2"]
    assert made[0].enrolmentkey == "" and made[0].visibility == 0 and made[0].participation is True
    with pytest.raises(InvalidParameterError):
        client.core_group.create_groups([NewGroup(courseid, "New"), NewGroup(courseid, "第一小组 Group 1")])
    with pytest.raises(DuplicateError) as caught:
        client.core_group.create_groups([NewGroup(courseid, "第三小组", idnumber="G1")])
    assert caught.value.errorcode == "idnumbertaken"
    listed = client.core_group.get_course_groups(courseid)
    assert [g.name for g in listed] == ["第一小组 Group 1", "第二小组 Group 2"]  # "New" was rolled back
    assert listed[0].enrolmentkey is None and listed[0].description == "<p>一组</p>"
    with pytest.raises(MoodleError) as course:
        client.core_group.create_groups([NewGroup(999999, "x")])
    assert course.value.errorcode == "errorcoursecontextnotvalid"


def test_members(fake: RunningFake, client: MoodleClient) -> None:
    courseid, users = setup_course(fake, client, 2, strangers=1)
    zhang, li, stranger = users
    first, second = client.core_group.create_groups([NewGroup(courseid, "A"), NewGroup(courseid, "B")])
    client.core_group.add_group_members([GroupMember(first.id, zhang), GroupMember(first.id, li)])
    client.core_group.add_group_members([GroupMember(first.id, zhang)])  # again: no error, no duplicate
    with pytest.raises(InvalidParameterError):
        client.core_group.add_group_members([GroupMember(second.id, stranger)])
    with pytest.raises(NotFoundError):
        client.core_group.add_group_members([GroupMember(999999, zhang)])
    members = client.core_group.get_group_members([first.id, second.id])
    assert [(m.groupid, m.userids) for m in members] == [(first.id, (li, zhang)), (second.id, ())]


def test_members_in_batches(fake: RunningFake) -> None:
    from ..conftest import TOKEN

    with MoodleClient(fake.url, TOKEN, timeout=10, retries=0, batch_size=2) as client:
        courseid, users = setup_course(fake, client, 5)
        group = client.core_group.create_groups([NewGroup(courseid, "Big")])[0]
        before = fake.site.calls["core_group_add_group_members"]
        client.core_group.add_group_members([GroupMember(group.id, u) for u in users])
        assert fake.site.calls["core_group_add_group_members"] - before == 3
        assert len(client.core_group.get_group_members([group.id])[0].userids) == 5
