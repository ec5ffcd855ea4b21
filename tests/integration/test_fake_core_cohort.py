"""core_cohort against the fake Moodle over HTTP: the semantics the recordings showed."""

from __future__ import annotations

import pytest

from moodle_bridge import AccessDeniedError, InvalidParameterError, MoodleClient, NotFoundError
from moodle_bridge.areas.core_cohort import (
    CategoryType,
    CohortMember,
    CohortMembership,
    CohortUpdate,
    NewCohort,
)
from moodle_bridge.areas.core_user import CreatedUser, NewUser
from moodle_bridge.fake import RunningFake
from moodle_bridge.fake.records import CONTEXT_COURSECAT, context

pytestmark = pytest.mark.integration


def users(client: MoodleClient, *lastnames: str) -> list[CreatedUser]:
    return client.core_user.create_users([
        NewUser(username=f"co-u{i}", password="Lab-User-2026!", firstname=f"F{i}", lastname=last,
                email=f"co-u{i}@college.example", idnumber=f"CO-EMP{i}")
        for i, last in enumerate(lastnames, start=1)])


def category(fake: RunningFake, idnumber: str, parent: int = 0) -> int:
    """A course category as an admin would add it (ids and paths as Moodle keeps them)."""
    table = fake.site.db["course_categories"]
    parent_path = table.get(parent)["path"] if parent else ""  # type: ignore[index]
    row = table.insert({"name": idnumber, "idnumber": idnumber, "description": "",
                        "descriptionformat": 1, "parent": parent, "sortorder": 0, "coursecount": 0,
                        "visible": 1, "visibleold": 1, "timemodified": 0, "depth": 1, "path": "",
                        "theme": ""})
    row["path"] = f"{parent_path}/{row['id']}"
    context(fake.site, CONTEXT_COURSECAT, row["id"])
    return int(row["id"])


def test_create_get_and_escape_names(client: MoodleClient, fake: RunningFake) -> None:
    category(fake, "CAT-PA")
    created = client.core_cohort.create_cohorts([
        NewCohort(name="Party & Administration <b>T1</b> > T2 < T3", idnumber="C1",
                  description="Cadres & staff", descriptionformat=1),
        NewCohort(name="Tier 2", idnumber="C2", category=CategoryType.category_idnumber("CAT-PA"),
                  visible=False),
    ])
    assert [c.idnumber for c in created] == ["C1", "C2"]
    first = created[0]
    assert first.name == "Party &amp; Administration T1 &gt; T2 &lt; T3"  # tags stripped
    assert first.plain_name == "Party & Administration T1 > T2 < T3"
    assert first.description == "Cadres &amp; staff" and first.descriptionformat == 1
    assert created[1].visible is False
    everything = client.core_cohort.get_cohorts()
    assert [c.idnumber for c in everything] == ["C1", "C2"]
    assert [c.idnumber for c in client.core_cohort.get_cohorts([created[1].id, 999999])] == ["C2"]


def test_duplicate_idnumber_fails_create_but_not_update(client: MoodleClient, fake: RunningFake) -> None:
    a, b = client.core_cohort.create_cohorts([NewCohort(name="A", idnumber="A1"),
                                              NewCohort(name="B", idnumber="B1")])
    with pytest.raises(InvalidParameterError) as caught:
        client.core_cohort.create_cohorts([NewCohort(name="C", idnumber="C1"),
                                           NewCohort(name="dup", idnumber="A1")])
    assert caught.value.errorcode == "invalidparameter" and caught.value.debuginfo is None
    assert [c.idnumber for c in client.core_cohort.get_cohorts()] == ["A1", "B1"]  # all-or-nothing
    fake.site.site_action("set_config", {"name": "debug", "value": 32767})
    with pytest.raises(InvalidParameterError) as debugged:
        client.core_cohort.create_cohorts([NewCohort(name="dup", idnumber="A1")])
    assert debugged.value.debuginfo == "record already exists: idnumber=A1"
    client.core_cohort.update_cohorts([CohortUpdate(id=b.id, name="B & co", idnumber="A1",
                                                    visible=False)])
    after = client.core_cohort.get_cohorts([a.id, b.id])
    assert [(c.idnumber, c.plain_name, c.visible) for c in after] == [("A1", "A", True),
                                                                      ("A1", "B & co", False)]


def test_unknown_category_and_category_by_id(client: MoodleClient, fake: RunningFake) -> None:
    fake.site.site_action("set_config", {"name": "debug", "value": 32767})
    with pytest.raises(InvalidParameterError) as caught:
        client.core_cohort.create_cohorts([NewCohort(name="x", idnumber="X",
                                                     category=CategoryType.category_idnumber("NOPE"))])
    assert caught.value.debuginfo == "category not exists: category idnumber = NOPE"
    catid = category(fake, "CAT-1")
    made = client.core_cohort.create_cohorts([NewCohort(name="x", idnumber="X",
                                                        category=CategoryType.category_id(catid))])
    found = client.core_cohort.search_cohorts("", contextlevel="coursecat", instanceid=catid,
                                              includes="self")
    assert [c.id for c in found] == [made[0].id]


def test_members_by_id_or_username_only_with_warnings(client: MoodleClient) -> None:
    u1, u2, u3 = users(client, "李", "张", "刘")
    cohort = client.core_cohort.create_cohorts([NewCohort(name="Spring", idnumber="COH1")])[0]
    by_idnumber = client.core_cohort.add_cohort_members([CohortMember("COH1", "CO-EMP1", "idnumber",
                                                                      "idnumber")])
    assert [(w.warningcode, w.message) for w in by_idnumber.warnings] == [
        ("1", "invalid parameter: usertype=idnumber")]
    assert client.core_cohort.get_cohort_members([cohort.id])[0].userids == ()
    result = client.core_cohort.add_cohort_members([
        CohortMember.by_idnumber_username("COH1", "co-u1"),
        CohortMember.by_idnumber_username("COH1", "co-nosuch"),
        CohortMember(cohort.id, u2.id),
        CohortMember.by_idnumber_username("COH1", "co-u1"),
        CohortMember.by_idnumber_username("NOSUCH", "co-u3"),
        CohortMember("COH1", u3.id, "bogus", "id"),
        CohortMember.by_idnumber_username("COH1", "co-u3"),
    ])
    assert [(w.warningcode, w.message) for w in result.warnings] == [
        ("2", "user username=co-nosuch not exists"),
        ("3", "record already exists: cohort(idnumber=COH1 username=co-u1)"),
        ("2", "cohort idnumber=NOSUCH not exists"),
        ("1", "invalid parameter: cohortype=bogus"),
    ]
    assert all(w.item is None and w.itemid is None for w in result.warnings)
    members = client.core_cohort.get_cohort_members([cohort.id])[0]
    assert members.cohortid == cohort.id
    assert list(members.userids) == [u3.id, u2.id, u1.id]  # by last name: 刘 < 张 < 李


def test_removing_members(client: MoodleClient) -> None:
    u1, u2 = users(client, "A", "B")
    cohort = client.core_cohort.create_cohorts([NewCohort(name="C", idnumber="C")])[0]
    client.core_cohort.add_cohort_members([CohortMember(cohort.id, u1.id), CohortMember(cohort.id, u2.id)])
    client.core_cohort.delete_cohort_members([CohortMembership(cohort.id, u1.id)])
    client.core_cohort.delete_cohort_members([CohortMembership(cohort.id, u1.id)])  # again: no error
    assert client.core_cohort.get_cohort_members([cohort.id])[0].userids == (u2.id,)
    with pytest.raises(NotFoundError):
        client.core_cohort.delete_cohort_members([CohortMembership(cohort.id, u2.id),
                                                  CohortMembership(999999, u2.id)])
    assert client.core_cohort.get_cohort_members([cohort.id])[0].userids == (u2.id,)  # nothing removed
    with pytest.raises(NotFoundError):
        client.core_cohort.get_cohort_members([cohort.id, 999999])


def test_members_in_batches_and_in_parallel(client: MoodleClient, fake: RunningFake) -> None:
    created = client.core_user.create_users([
        NewUser(username=f"bulk{i}", password="Lab-User-2026!", firstname="F", lastname=f"L{i:03d}",
                email=f"bulk{i}@college.example") for i in range(120)])
    a, b = client.core_cohort.create_cohorts([NewCohort(name="A", idnumber="A"),
                                              NewCohort(name="B", idnumber="B")])
    result = client.core_cohort.add_cohort_members([CohortMember(a.id, u.id) for u in created])
    assert result.warnings == ()
    assert fake.site.calls["core_cohort_add_cohort_members"] == 3
    again = client.core_cohort.add_cohort_members(
        [CohortMember("B", u.username, "idnumber", "username") for u in created]
        + [CohortMember(a.id, created[0].id)], parallel=True)
    assert [w.warningcode for w in again.warnings] == ["3"]
    members = client.core_cohort.get_cohort_members([a.id, b.id])
    assert [len(m.userids) for m in members] == [120, 120]


def test_search_by_context_and_paging(client: MoodleClient, fake: RunningFake) -> None:
    parent = category(fake, "CAT-P")
    child = category(fake, "CAT-C", parent=parent)
    client.core_cohort.create_cohorts(
        [NewCohort(name=f"System {i:02d}", idnumber=f"S{i:02d}") for i in range(30)]
        + [NewCohort(name="Parent cohort", idnumber="P1", category=CategoryType.category_id(parent)),
           NewCohort(name="Hidden parent", idnumber="P2", category=CategoryType.category_id(parent),
                     visible=False),
           NewCohort(name="Child cohort", idnumber="K1", category=CategoryType.category_id(child),
                     description="<p>Spring</p>")])
    first_page = client.core_cohort.search_cohorts("System")
    assert len(first_page) == 25  # Moodle's default limitnum
    second = client.core_cohort.search_cohorts("System", limitfrom=1, limitnum=25)
    assert [c.idnumber for c in second] == [f"S{i:02d}" for i in range(25, 30)]  # limitfrom is a page
    every = list(client.core_cohort.iter_search_cohorts("system", perpage=7))
    assert [c.idnumber for c in every] == [f"S{i:02d}" for i in range(30)]
    assert [c.idnumber for c in client.core_cohort.search_cohorts("spring", contextid=1,
                                                                   includes="all")] == ["K1"]
    below = client.core_cohort.search_cohorts("", contextlevel="coursecat", instanceid=child)
    assert below[0].idnumber == "K1"  # the context's own cohorts first, then its parents'
    assert {c.idnumber for c in below} == {"K1", "P1", "P2"} | {f"S{i:02d}" for i in range(23)}
    parent_one = next(c for c in below if c.idnumber == "P1")
    assert parent_one.description == "" and parent_one.theme is None  # fields Moodle does not select
    assert len(list(client.core_cohort.iter_search_cohorts("", contextlevel="coursecat",
                                                           instanceid=child))) == 33
    with pytest.raises(InvalidParameterError):
        client.core_cohort.search_cohorts("", contextid=999999)


def test_delete_cohorts_removes_members(client: MoodleClient, fake: RunningFake) -> None:
    (u1,) = users(client, "A")
    a, b = client.core_cohort.create_cohorts([NewCohort(name="A", idnumber="A"),
                                              NewCohort(name="B", idnumber="B")])
    client.core_cohort.add_cohort_members([CohortMember(a.id, u1.id)])
    with pytest.raises(NotFoundError):
        client.core_cohort.delete_cohorts([a.id, 999999])
    assert len(client.core_cohort.get_cohorts()) == 2
    client.core_cohort.delete_cohorts([a.id])
    assert [c.id for c in client.core_cohort.get_cohorts()] == [b.id]
    assert fake.site.db["cohort_members"].select(cohortid=a.id) == []


def test_capabilities(client: MoodleClient, weak_client: MoodleClient) -> None:
    (u1,) = users(client, "A")
    cohort = client.core_cohort.create_cohorts([NewCohort(name="A", idnumber="A")])[0]
    with pytest.raises(AccessDeniedError) as create:
        weak_client.core_cohort.create_cohorts([NewCohort(name="W", idnumber="W")])
    assert create.value.message.endswith("(Create, delete and move cohorts).")
    with pytest.raises(AccessDeniedError) as add:
        weak_client.core_cohort.add_cohort_members([CohortMember(cohort.id, u1.id)])
    assert add.value.message.endswith("(Add and remove cohort members).")
    # Unsupported types are warned about before any capability check, as in Moodle.
    odd = weak_client.core_cohort.add_cohort_members([CohortMember(cohort.id, "x", "id", "idnumber")])
    assert [w.warningcode for w in odd.warnings] == ["1"]
    with pytest.raises(AccessDeniedError):
        weak_client.core_cohort.get_cohorts()
    with pytest.raises(AccessDeniedError):
        weak_client.core_cohort.search_cohorts("")


def test_cohort_custom_fields(client: MoodleClient, fake: RunningFake) -> None:
    fake.site.site_action("create_cohort_custom_field", {"shortname": "year", "name": "Year"})
    _, b = client.core_cohort.create_cohorts([NewCohort(name="A", idnumber="A",
                                                        customfields={"year": "2026"}),
                                              NewCohort(name="B", idnumber="B")])
    found = {c.idnumber: c for c in client.core_cohort.get_cohorts()}
    assert [(f.shortname, f.value, f.valueraw) for f in found["A"].customfields] == \
        [("year", "2026", "2026")]
    assert [(f.shortname, f.value) for f in found["B"].customfields] == [("year", None)]
    client.core_cohort.update_cohorts([CohortUpdate(id=b.id, name="B", idnumber="B",
                                                    customfields={"year": "2027"})])
    assert client.core_cohort.get_cohorts([b.id])[0].customfields[0].value == "2027"
