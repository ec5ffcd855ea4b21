"""core_cohort client: every recorded call of its functions is sent as recorded and its answer read."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses

from moodle_bridge import MoodleClient, NotFoundError
from moodle_bridge.areas.core_cohort import (
    CategoryType,
    Cohort,
    CohortMember,
    CohortMembers,
    CohortMembership,
    CohortUpdate,
    NewCohort,
)
from tests.recordings import (
    ENDPOINT,
    Recorded,
    check_recorded,
    endpoint_client,
    needs_recordings,
    posted,
    recorded_calls,
    where,
)

FUNCTIONS = ("core_cohort_create_cohorts", "core_cohort_update_cohorts", "core_cohort_delete_cohorts",
             "core_cohort_get_cohorts", "core_cohort_search_cohorts", "core_cohort_add_cohort_members",
             "core_cohort_delete_cohort_members", "core_cohort_get_cohort_members")

pytestmark = needs_recordings


def _category(raw: dict[str, Any]) -> CategoryType:
    return CategoryType(str(raw["type"]), "" if raw["value"] is None else str(raw["value"]))


def _cohort_fields(raw: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {key: raw[key] for key in ("description", "descriptionformat", "visible",
                                                         "theme") if key in raw}
    if raw.get("customfields"):
        kwargs["customfields"] = {item["shortname"]: item["value"] for item in raw["customfields"]}
    return kwargs


def invoke(fn: str, params: dict[str, Any]) -> tuple[Callable[[MoodleClient], Any], bool]:
    """The client call that makes the recorded request, and whether it can send exactly its form."""
    if fn == "core_cohort_create_cohorts":
        exact = all("name" in c for c in params["cohorts"])
        cohorts = [NewCohort(name=c.get("name", ""), idnumber=c["idnumber"],
                             category=_category(c["categorytype"]), **_cohort_fields(c))
                   for c in params["cohorts"]]
        return (lambda c: c.core_cohort.create_cohorts(cohorts)), exact
    if fn == "core_cohort_update_cohorts":
        updates = [CohortUpdate(id=c["id"], name=c["name"], idnumber=c["idnumber"],
                                category=_category(c["categorytype"]), **_cohort_fields(c))
                   for c in params["cohorts"]]
        return (lambda c: c.core_cohort.update_cohorts(updates)), True
    if fn == "core_cohort_delete_cohorts":
        return (lambda c: c.core_cohort.delete_cohorts(params["cohortids"])), True
    if fn == "core_cohort_get_cohorts":
        ids = params.get("cohortids", [])
        # A JSON body (a string, not an array) cannot be produced by the client.
        exact = isinstance(ids, list)
        return (lambda c: c.core_cohort.get_cohorts(ids if exact else [1])), exact
    if fn == "core_cohort_search_cohorts":
        context = params.get("context") or {}
        kwargs = {key: params[key] for key in ("includes", "limitfrom", "limitnum") if key in params}
        exact = "context" in params
        return (lambda c: c.core_cohort.search_cohorts(params["query"], **context, **kwargs)), exact
    if fn == "core_cohort_add_cohort_members":
        members = [CohortMember(m["cohorttype"]["value"], m["usertype"]["value"],
                                m["cohorttype"]["type"], m["usertype"]["type"]) for m in params["members"]]
        return (lambda c: c.core_cohort.add_cohort_members(members)), True
    if fn == "core_cohort_delete_cohort_members":
        pairs = [CohortMembership(m["cohortid"], m["userid"]) for m in params["members"]]
        return (lambda c: c.core_cohort.delete_cohort_members(pairs)), True
    if fn == "core_cohort_get_cohort_members":
        return (lambda c: c.core_cohort.get_cohort_members(params["cohortids"])), True
    raise AssertionError(fn)


CASES = recorded_calls(FUNCTIONS)


def test_the_recordings_of_core_cohort_are_found() -> None:
    assert len(CASES) >= 60
    assert {case.function for case in CASES} == set(FUNCTIONS) - {"core_cohort_delete_cohorts"}


@pytest.mark.parametrize("case", CASES, ids=where(CASES))
def test_recorded_call(case: Recorded) -> None:
    call, exact = invoke(case.function, case.params)
    check_recorded(case, lambda client, _params: call(client), exact=exact,
                   verify=lambda result, _answer: check_result(case, result))


def check_result(case: Recorded, result: Any) -> None:
    response = case.response
    if case.function in ("core_cohort_create_cohorts", "core_cohort_get_cohorts"):
        assert all(isinstance(c, Cohort) for c in result)
        assert [(c.id, c.name, c.idnumber, c.visible) for c in result] == \
            [(r["id"], r["name"], r["idnumber"], r["visible"]) for r in response]
    elif case.function == "core_cohort_search_cohorts":
        assert [c.id for c in result] == [r["id"] for r in response["cohorts"]]
    elif case.function == "core_cohort_get_cohort_members":
        assert all(isinstance(m, CohortMembers) for m in result)
        assert [(m.cohortid, list(m.userids)) for m in result] == \
            [(r["cohortid"], r["userids"]) for r in response]
    elif case.function == "core_cohort_add_cohort_members":
        assert [(w.warningcode, w.message, w.item, w.itemid) for w in result.warnings] == \
            [(w["warningcode"], w["message"], None, None) for w in response["warnings"]]
    else:
        assert result is None


# --- behaviour of the client beyond the recordings ---------------------------------------------------

def _forms() -> list[dict[str, str]]:
    return [posted(call) for call in responses.calls]


def test_plain_name_undoes_moodles_escaping() -> None:
    cohort = Cohort(id=1, name="R&amp;D &lt;2026&gt;")
    assert cohort.plain_name == "R&D <2026>"


@responses.activate
def test_add_cohort_members_batches_and_keeps_warnings_in_order() -> None:
    responses.post(ENDPOINT, json={"warnings": [{"warningcode": "3", "message": "first"}]})
    responses.post(ENDPOINT, json={"warnings": []})
    responses.post(ENDPOINT, json={"warnings": [{"warningcode": "2", "message": "last"}]})
    members = [CohortMember.by_idnumber_username("C1", f"u{i}") for i in range(5)]
    with endpoint_client(batch_size=2) as client:
        result = client.core_cohort.add_cohort_members(members)
    assert [w.message for w in result.warnings] == ["first", "last"]
    assert [f["members[0][usertype][value]"] for f in _forms()] == ["u0", "u2", "u4"]
    assert _forms()[0]["members[0][cohorttype][type]"] == "idnumber"


@responses.activate
def test_add_cohort_members_in_parallel_merges_warnings_in_chunk_order() -> None:
    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        user = posted(request)["members[0][usertype][value]"]
        return 200, {}, json.dumps({"warnings": [{"warningcode": "3", "message": user}]})

    responses.add_callback(responses.POST, ENDPOINT, callback=reply)
    members = [CohortMember(1, i) for i in range(6)]
    with endpoint_client(batch_size=1, max_workers=3) as client:
        result = client.core_cohort.add_cohort_members(members, parallel=True)
    assert [w.message for w in result.warnings] == [str(i) for i in range(6)]


@responses.activate
def test_create_cohorts_sends_category_and_custom_fields() -> None:
    responses.post(ENDPOINT, json=[{"id": 7, "name": "A", "idnumber": "A1", "description": "",
                                    "descriptionformat": 1, "visible": False, "theme": ""}])
    cohort = NewCohort(name="A", idnumber="A1", category=CategoryType.category_idnumber("CAT"),
                       visible=False, customfields={"year": "2026"})
    with endpoint_client() as client:
        created = client.core_cohort.create_cohorts([cohort])
    assert created[0].id == 7 and created[0].visible is False and created[0].customfields == ()
    form = _forms()[0]
    assert form["cohorts[0][categorytype][type]"] == "idnumber"
    assert form["cohorts[0][categorytype][value]"] == "CAT"
    assert form["cohorts[0][visible]"] == "0"
    assert form["cohorts[0][customfields][0][shortname]"] == "year"


@responses.activate
def test_get_cohort_members_error_is_not_found() -> None:
    responses.post(ENDPOINT, json={"exception": "dml_missing_record_exception",
                                   "errorcode": "invalidrecord",
                                   "message": "Can't find data record in database table cohort."})
    with endpoint_client() as client, pytest.raises(NotFoundError):
        client.core_cohort.get_cohort_members([1, 999999])


@responses.activate
def test_iter_search_cohorts_pages_until_a_short_page() -> None:
    def page(ids: list[int]) -> dict[str, Any]:
        return {"cohorts": [{"id": i, "name": f"c{i}", "idnumber": f"c{i}", "description": "",
                             "descriptionformat": 1, "visible": True} for i in ids]}

    responses.post(ENDPOINT, json=page([1, 2]))
    responses.post(ENDPOINT, json=page([3, 4]))
    responses.post(ENDPOINT, json=page([5]))
    with endpoint_client() as client:
        found = list(client.core_cohort.iter_search_cohorts("c", includes="all", perpage=2))
    assert [c.id for c in found] == [1, 2, 3, 4, 5]
    assert [(f["limitfrom"], f["limitnum"]) for f in _forms()] == [("0", "2"), ("1", "2"), ("2", "2")]


@responses.activate
def test_iter_search_cohorts_reads_parents_below_system_in_one_unlimited_call() -> None:
    responses.post(ENDPOINT, json={"cohorts": []})
    with endpoint_client() as client:
        assert list(client.core_cohort.iter_search_cohorts("", contextlevel="coursecat", instanceid=3)) == []
    form = _forms()[0]
    assert (form["limitfrom"], form["limitnum"], form["includes"]) == ("0", "0", "parents")
    assert (form["context[contextlevel]"], form["context[instanceid]"]) == ("coursecat", "3")
