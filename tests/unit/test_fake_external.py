"""The fake's implementation of Moodle's external API rules, against what a real Moodle answers."""

from __future__ import annotations

import pytest

from moodle_bridge.fake.costs import MOODLE_PROFILE, Faults, Latency
from moodle_bridge.fake.external import clean_returns, decode_form, validate_parameters
from moodle_bridge.fake.wserror import WSError

USERS = {"kind": "object", "required": 1, "keys": {
    "users": {"kind": "list", "required": 1, "of": {"kind": "object", "required": 1, "keys": {
        "username": {"kind": "value", "type": "username", "required": 1},
        "firstname": {"kind": "value", "type": "notags", "required": 1},
        "auth": {"kind": "value", "type": "plugin", "required": 0, "default": "manual"},
        "suspended": {"kind": "value", "type": "bool", "required": 2},
        "timezone": {"kind": "value", "type": "int", "required": 2},
    }}},
}}


def debuginfo(params: dict) -> str:
    with pytest.raises(WSError) as caught:
        validate_parameters(USERS, params)
    assert caught.value.errorcode == "invalidparameter"
    assert caught.value.message == "Invalid parameter value detected"
    return caught.value.debuginfo or ""


def test_valid_parameters_are_cast_and_defaults_filled() -> None:
    raw = decode_form([("users[0][username]", "u1"), ("users[0][firstname]", "红"),
                       ("users[0][suspended]", "1"), ("users[0][timezone]", "8")])
    assert validate_parameters(USERS, raw) == {
        "users": [{"username": "u1", "firstname": "红", "auth": "manual", "suspended": True,
                   "timezone": 8}]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "Missing required key in single structure: users"),
        ({"users": {"0": {"username": "u"}}},
         "users => Invalid parameter value detected: Missing required key in single structure: firstname"),
        ({"users": {"0": {"username": "u", "firstname": "f", "timezone": "abc"}}},
         'users => Invalid parameter value detected: timezone => Invalid parameter value detected: '
         'Invalid external api parameter: the value is "abc", the server was expecting "int" type'),
        ({"users": "[1]"}, "users => Invalid parameter value detected: Only arrays accepted. "
                           "The bad value is: '[1]'"),
        ({"users": {}, "extra": "1"}, "Unexpected keys (extra) detected in parameter array."),
    ],
    ids=["missing-top", "missing-nested", "bad-int", "not-array", "unexpected"],
)
def test_invalid_parameters_explain_themselves_like_moodle(params: dict, expected: str) -> None:
    assert debuginfo(params) == expected


def test_answers_are_cleaned_to_the_declared_returns() -> None:
    returns = {"kind": "list", "of": {"kind": "object", "keys": {
        "id": {"kind": "value", "type": "int", "required": 1},
        "visible": {"kind": "value", "type": "bool", "required": 1},
        "grade": {"kind": "value", "type": "float", "required": 2},
        "theme": {"kind": "value", "type": "text", "required": 0, "default": ""},
    }}}
    cleaned = clean_returns(returns, [{"id": "7", "visible": 1, "secret": "x", "grade": "88.5"}])
    assert cleaned == [{"id": 7, "visible": True, "grade": 88.5, "theme": ""}]


def test_faults_are_reproducible_and_at_the_asked_rate() -> None:
    draws = [Faults(rate=0.3, seed=7).draw() for _ in range(1)]
    first = Faults(rate=0.3, seed=7)
    second = Faults(rate=0.3, seed=7)
    a = [first.draw() for _ in range(2000)]
    b = [second.draw() for _ in range(2000)]
    assert a == b and draws[0] == a[0]
    share = sum(x is not None for x in a) / len(a)
    assert 0.26 < share < 0.34
    assert {x for x in a if x} == {"http500", "http503", "timeout", "truncated", "exception"}
    with pytest.raises(ValueError):
        Faults(kinds=("meteor",))


def test_latency_has_a_per_call_and_a_per_item_part() -> None:
    assert Latency(per_call_ms=20).seconds("anything", 100) == pytest.approx(0.02)
    enrol = MOODLE_PROFILE.seconds("enrol_manual_enrol_users", 100)
    assert 7.0 < enrol < 7.2 and MOODLE_PROFILE.workers == 4
