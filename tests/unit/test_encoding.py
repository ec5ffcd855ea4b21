"""Moodle's nested form encoding, table-driven."""

from __future__ import annotations

import pytest

from moodle_bridge.encoding import encode_params
from moodle_bridge.fake.external import decode_form


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, []),
        ({"field": "id", "values": [3, 4]}, [("field", "id"), ("values[0]", "3"), ("values[1]", "4")]),
        (
            {"users": [{"username": "u1", "customfields": [{"type": "rank", "value": "正处级"}]}]},
            [("users[0][username]", "u1"), ("users[0][customfields][0][type]", "rank"),
             ("users[0][customfields][0][value]", "正处级")],
        ),
        ({"options": [{"name": "users", "value": False}], "visible": True},
         [("options[0][name]", "users"), ("options[0][value]", "0"), ("visible", "1")]),
        ({"enrolments": []}, []),
        ({"cohortids": [], "query": "x"}, [("query", "x")]),
        ({"suspend": None, "userid": 5}, [("userid", "5")]),
        ({"grade": 85.5, "whole": 88.0}, [("grade", "85.5"), ("whole", "88")]),
        ({"name": "组织部 Organisation & Dept <b>"}, [("name", "组织部 Organisation & Dept <b>")]),
        ({"a": {"b": {"c": [1, {"d": "e"}]}}}, [("a[b][c][0]", "1"), ("a[b][c][1][d]", "e")]),
    ],
    ids=["empty", "list", "nested-unicode", "booleans", "empty-list", "empty-list-skipped",
         "none-dropped", "floats", "unicode-specials", "deep"],
)
def test_encode_params(params: dict, expected: list[tuple[str, str]]) -> None:
    assert encode_params(params) == expected


def test_the_fake_reads_back_what_the_client_encodes() -> None:
    params = {"users": [{"username": "李红", "customfields": [{"type": "t", "value": "v"}]},
                        {"username": "b"}]}
    decoded = decode_form(encode_params(params))
    assert decoded == {"users": {"0": {"username": "李红",
                                       "customfields": {"0": {"type": "t", "value": "v"}}},
                                 "1": {"username": "b"}}}
