"""The API fuzzed from its own OpenAPI document (schemathesis): whatever it is sent, it answers in its
documented shapes and never with a server error."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import Tokens, bearer

pytestmark = pytest.mark.xdist_group("api")


def test_the_api_never_fails_on_any_input(app: Flask, tokens: Tokens) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=bearer(tokens.reader))
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "GET /api/v1/years", "GET /api/v1/years/{year}/records",
        "GET /api/v1/years/{year}/records/{employee_no}", "GET /api/v1/years/{year}/reports/{group_by}",
        "POST /api/v1/rosters"}
    for operation in operations:
        # A roster is any file by its schema, but one that is not a roster is refused (422) by design.
        fuzz(operation, tokens, [positive_data_acceptance] if operation.method.upper() == "POST" else [])


def fuzz(operation: Any, tokens: Tokens, excluded: list[Any]) -> None:
    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def exercise(case: Any) -> None:
        case.call_and_validate(headers=bearer(tokens.writer), excluded_checks=excluded)

    exercise()
