"""core_cohort client: every recorded call of its functions is sent as recorded and its answer read.

Recordings: ``scenarios/`` (5.1), ``scenarios-4.5/`` and ``single-calls-5.1/`` of the shared contract
(loaded by the helpers of ``test_area_core_user``). A success must parse into the typed result; an
error must raise the ``MoodleError`` subclass its ``errorcode`` maps to; where the recording has the
form it sent, the client must send the same pairs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from moodle_bridge import MoodleClient, MoodleError, NotFoundError, ProtocolError
from moodle_bridge.areas.core_cohort import (
    CategoryType,
    Cohort,
    CohortMember,
    CohortMembers,
    CohortMembership,
    CohortUpdate,
    NewCohort,
)
from moodle_bridge.errors import ERRORCODE_CLASSES

from .test_area_core_user import CONTRACT, ENDPOINT, URL, Recorded, body_of, recordings

FUNCTIONS = ("core_cohort_create_cohorts", "core_cohort_update_cohorts", "core_cohort_delete_cohorts",
             "core_cohort_get_cohorts", "core_cohort_search_cohorts", "core_cohort_add_cohort_members",
             "core_cohort_delete_cohort_members", "core_cohort_get_cohort_members")

pytestmark = pytest.mark.skipif(not CONTRACT.is_dir(), reason=f"no contract recordings at {CONTRACT}")


def make_client(**kwargs: Any) -> MoodleClient:
    kwargs.setdefault("batch_size", 1000)
    return MoodleClient(URL, "0" * 32, timeout=5, retries=0, **kwargs)


def _category(raw: dict[str, Any]) -> CategoryType:
    return CategoryType(str(raw["type"]), "" if raw["value"] is None else str(raw["value"]))


def _cohort_fields(raw: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {key: raw[key] for key in ("description", "descriptionformat", "visible",
                                                         "theme") if key in raw}
    if raw.get("customfields"):
        kwargs["customfields"] = {item["shortname"]: item["value"] for item in raw["customfields"]}
    return kwargs


def invoke(client: MoodleClient, fn: str, params: dict[str, Any]) -> tuple[Callable[[], Any], bool]:
    """The client call that makes the recorded request, and whether it can send exactly its form."""
    area = client.core_cohort
    if fn == "core_cohort_create_cohorts":
        exact = all("name" in c for c in params["cohorts"])
        cohorts = [NewCohort(name=c.get("name", ""), idnumber=c["idnumber"],
                             category=_category(c["categorytype"]), **_cohort_fields(c))
                   for c in params["cohorts"]]
        return (lambda: area.create_cohorts(cohorts)), exact
    if fn == "core_cohort_update_cohorts":
        updates = [CohortUpdate(id=c["id"], name=c["name"], idnumber=c["idnumber"],
                                category=_category(c["categorytype"]), **_cohort_fields(c))
                   for c in params["cohorts"]]
        return (lambda: area.update_cohorts(updates)), True
    if fn == "core_cohort_delete_cohorts":
        return (lambda: area.delete_cohorts(params["cohortids"])), True
    if fn == "core_cohort_get_cohorts":
        ids = params.get("cohortids", [])
        # A JSON body (a string, not an array) cannot be produced by the client.
        return (lambda: area.get_cohorts(ids if isinstance(ids, list) else [1])), isinstance(ids, list)
    if fn == "core_cohort_search_cohorts":
        context = params.get("context") or {}
        kwargs = {key: params[key] for key in ("includes", "limitfrom", "limitnum") if key in params}
        return (lambda: area.search_cohorts(params["query"], **context, **kwargs)), "context" in params
    if fn == "core_cohort_add_cohort_members":
        members = [CohortMember(m["cohorttype"]["value"], m["usertype"]["value"],
                                m["cohorttype"]["type"], m["usertype"]["type"]) for m in params["members"]]
        return (lambda: area.add_cohort_members(members)), True
    if fn == "core_cohort_delete_cohort_members":
        pairs = [CohortMembership(m["cohortid"], m["userid"]) for m in params["members"]]
        return (lambda: area.delete_cohort_members(pairs)), True
    if fn == "core_cohort_get_cohort_members":
        return (lambda: area.get_cohort_members(params["cohortids"])), True
    raise AssertionError(fn)


CASES = list(recordings(FUNCTIONS))


def test_the_recordings_of_core_cohort_are_found() -> None:
    assert len(CASES) >= 60
    assert {case.function for case in CASES} == set(FUNCTIONS) - {"core_cohort_delete_cohorts"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@responses.activate
def test_recorded_call(case: Recorded) -> None:
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
            assert caught.value.wsfunction == case.function
        else:
            check_result(case, call())
    assert dict(parse_qsl(body_of(responses.calls[0])))["wsfunction"] == case.function
    sent = [(k, v) for k, v in parse_qsl(body_of(responses.calls[0]), keep_blank_values=True)
            if k not in ("wstoken", "wsfunction", "moodlewsrestformat")]
    if case.form is not None and exact:
        assert sent == case.form


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
    return [dict(parse_qsl(body_of(call), keep_blank_values=True)) for call in responses.calls]


def test_plain_name_undoes_moodles_escaping() -> None:
    cohort = Cohort(id=1, name="R&amp;D &lt;2026&gt;")
    assert cohort.plain_name == "R&D <2026>"


@responses.activate
def test_add_cohort_members_batches_and_keeps_warnings_in_order() -> None:
    responses.post(ENDPOINT, json={"warnings": [{"warningcode": "3", "message": "first"}]})
    responses.post(ENDPOINT, json={"warnings": []})
    responses.post(ENDPOINT, json={"warnings": [{"warningcode": "2", "message": "last"}]})
    members = [CohortMember.by_idnumber_username("C1", f"u{i}") for i in range(5)]
    with make_client(batch_size=2) as client:
        result = client.core_cohort.add_cohort_members(members)
    assert [w.message for w in result.warnings] == ["first", "last"]
    assert [f["members[0][usertype][value]"] for f in _forms()] == ["u0", "u2", "u4"]
    assert _forms()[0]["members[0][cohorttype][type]"] == "idnumber"


@responses.activate
def test_add_cohort_members_in_parallel_merges_warnings_in_chunk_order() -> None:
    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        user = dict(parse_qsl(request.body))["members[0][usertype][value]"]
        return 200, {}, json.dumps({"warnings": [{"warningcode": "3", "message": user}]})

    responses.add_callback(responses.POST, ENDPOINT, callback=reply)
    members = [CohortMember(1, i) for i in range(6)]
    with make_client(batch_size=1, max_workers=3) as client:
        result = client.core_cohort.add_cohort_members(members, parallel=True)
    assert [w.message for w in result.warnings] == [str(i) for i in range(6)]


@responses.activate
def test_create_cohorts_sends_category_and_custom_fields() -> None:
    responses.post(ENDPOINT, json=[{"id": 7, "name": "A", "idnumber": "A1", "description": "",
                                    "descriptionformat": 1, "visible": False, "theme": ""}])
    cohort = NewCohort(name="A", idnumber="A1", category=CategoryType.category_idnumber("CAT"),
                       visible=False, customfields={"year": "2026"})
    with make_client() as client:
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
    with make_client() as client, pytest.raises(NotFoundError):
        client.core_cohort.get_cohort_members([1, 999999])


@responses.activate
def test_iter_search_cohorts_pages_until_a_short_page() -> None:
    def page(ids: list[int]) -> dict[str, Any]:
        return {"cohorts": [{"id": i, "name": f"c{i}", "idnumber": f"c{i}", "description": "",
                             "descriptionformat": 1, "visible": True} for i in ids]}

    responses.post(ENDPOINT, json=page([1, 2]))
    responses.post(ENDPOINT, json=page([3, 4]))
    responses.post(ENDPOINT, json=page([5]))
    with make_client() as client:
        found = list(client.core_cohort.iter_search_cohorts("c", includes="all", perpage=2))
    assert [c.id for c in found] == [1, 2, 3, 4, 5]
    assert [(f["limitfrom"], f["limitnum"]) for f in _forms()] == [("0", "2"), ("1", "2"), ("2", "2")]


@responses.activate
def test_iter_search_cohorts_reads_parents_below_system_in_one_unlimited_call() -> None:
    responses.post(ENDPOINT, json={"cohorts": []})
    with make_client() as client:
        assert list(client.core_cohort.iter_search_cohorts("", contextlevel="coursecat", instanceid=3)) == []
    form = _forms()[0]
    assert (form["limitfrom"], form["limitnum"], form["includes"]) == ("0", "0", "parents")
    assert (form["context[contextlevel]"], form["context[instanceid]"]) == ("coursecat", "3")
