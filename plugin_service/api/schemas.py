"""What the API's requests and answers hold (marshmallow), which is also its OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate

from rules.hours import STATUSES

GROUPS = ("department", "tier", "class")


class UtcDateTime(fields.DateTime):
    """A stored time (naive UTC) written as RFC 3339 with its zone, as OpenAPI's date-time requires."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class ProblemSchema(Schema):
    file = fields.String(required=True)
    line = fields.Integer(allow_none=True, required=True)
    where = fields.String(required=True)
    message = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(["error", "warning"]))


class ApiErrorBodySchema(Schema):
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.List(fields.Dict(), required=True)


class ApiErrorSchema(Schema):
    error = fields.Nested(ApiErrorBodySchema, required=True)


class YearSchema(Schema):
    year = fields.Integer(required=True)
    title = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    cadres = fields.Integer(required=True)
    harvested_at = UtcDateTime(allow_none=True, required=True)


class RecordQuerySchema(Schema):
    department = fields.String(validate=validate.Length(min=1, max=128))
    tier = fields.String(validate=validate.Length(min=1, max=64))
    klass = fields.String(data_key="class", validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf(STATUSES))
    q = fields.String(validate=validate.Length(min=1, max=64),
                      metadata={"description": "part of a name or an employee number"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class RecordSchema(Schema):
    employee_no = fields.String(required=True)
    name = fields.String(required=True)
    department = fields.String(required=True)
    tier = fields.String(allow_none=True, required=True)
    klass = fields.String(data_key="class", allow_none=True, required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    status_since = fields.Date(required=True)
    required_hours = fields.Float(required=True)
    elective_hours = fields.Float(required=True)
    total_hours = fields.Float(required=True)
    target_hours = fields.Float(required=True)
    discussion_points = fields.Float(required=True)
    offline_hours = fields.Float(required=True, metadata={
        "description": "offline study hours counted in total_hours (up to the plan's offline cap)"})
    required_missing = fields.List(fields.String(), required=True)
    reflections_missing = fields.List(fields.String(), required=True)
    reflections_owed = fields.Integer(required=True)
    reflections_submitted = fields.Integer(required=True)  # whatever their length
    reflections_long_enough = fields.Integer(required=True)  # of the submitted, reaching the minimum
    computed_for = fields.Date(allow_none=True, required=True)


class RecordPageSchema(Schema):
    items = fields.List(fields.Nested(RecordSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class CourseSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    hours = fields.Float(required=True)
    kind = fields.String(allow_none=True, required=True)
    credited_hours = fields.Float(required=True)
    first_completed_at = UtcDateTime(allow_none=True, required=True)
    started_at = UtcDateTime(allow_none=True, required=True)
    grade = fields.Float(allow_none=True, required=True)
    study_seconds = fields.Float(allow_none=True, required=True, metadata={
        "description": "study time the course's SCORM courseware tracked, over every attempt; null where "
                       "the courseware tracks no time (not tracked, which is not zero)"})
    study_attempts = fields.Integer(required=True)
    study_last_tracked_at = UtcDateTime(allow_none=True, required=True)


class ReflectionSchema(Schema):
    course = fields.String(required=True)
    status = fields.String(required=True)
    chars = fields.Integer(required=True)
    submitted_at = UtcDateTime(allow_none=True, required=True)
    grade = fields.Float(allow_none=True, required=True)
    graded_at = UtcDateTime(allow_none=True, required=True)


class DiscussionSchema(Schema):
    key = fields.String(required=True)
    posts_in_window = fields.Integer(required=True)
    posts_total = fields.Integer(required=True)
    points = fields.Float(required=True)


class StatusChangeSchema(Schema):
    on = fields.Date(required=True)
    status = fields.String(required=True)
    tier = fields.String(allow_none=True, required=True)
    total_hours = fields.Float(required=True)


class OfflineSchema(Schema):
    source = fields.String(required=True, metadata={"description": "training:<id> or claim:<id>"})
    kind = fields.String(required=True, validate=validate.OneOf(["training", "claim"]))
    title = fields.String(required=True)
    on = fields.Date(required=True)
    hours = fields.Float(required=True)


class CadreRecordSchema(RecordSchema):
    reasons = fields.List(fields.String(), required=True)
    offline_hours_earned = fields.Float(required=True, metadata={"description": "before the offline cap"})
    offline_max = fields.Float(allow_none=True, required=True,
                               metadata={"description": "the tier's offline cap; null: the plan counts none"})
    offline = fields.List(fields.Nested(OfflineSchema), required=True)
    study_seconds = fields.Float(allow_none=True, required=True, metadata={
        "description": "the year's study time in the courses whose courseware tracks it; null where none "
                       "does"})
    courses = fields.List(fields.Nested(CourseSchema), required=True)
    reflections = fields.List(fields.Nested(ReflectionSchema), required=True)
    discussions = fields.List(fields.Nested(DiscussionSchema), required=True)
    history = fields.List(fields.Nested(StatusChangeSchema), required=True)


class ReportQuerySchema(Schema):
    department = fields.String(validate=validate.Length(min=1, max=128))
    tier = fields.String(validate=validate.Length(min=1, max=64))
    klass = fields.String(data_key="class", validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf(STATUSES))


class GroupSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    cadres = fields.Integer(required=True)
    complete = fields.Integer(required=True)
    on_track = fields.Integer(required=True)
    behind = fields.Integer(required=True)
    mean_hours = fields.Float(required=True)
    hours_met = fields.Integer(required=True)
    required_met = fields.Integer(required=True)
    required_owed = fields.Integer(required=True)
    required_done = fields.Integer(required=True)
    reflections_owed = fields.Integer(required=True)
    reflections_submitted = fields.Integer(required=True)
    reflections_short = fields.Integer(required=True)
    reflections_awaiting = fields.Integer(required=True)
    mean_points = fields.Float(required=True)
    mean_study_seconds = fields.Float(allow_none=True, required=True, metadata={
        "description": "mean study time of the group's cadres whose courses track it; null where none does"})
    mean_offline_hours = fields.Float(required=True, metadata={
        "description": "mean offline study hours counted (within mean_hours)"})
    offline_cadres = fields.Integer(required=True,
                                    metadata={"description": "cadres with offline hours counted"})


class ReportSchema(Schema):
    year = fields.Integer(required=True)
    group_by = fields.String(required=True, validate=validate.OneOf(GROUPS))
    groups = fields.List(fields.Nested(GroupSchema), required=True)
    total = fields.Nested(GroupSchema, required=True)
    excluded = fields.Integer(required=True)
    harvested_at = UtcDateTime(allow_none=True, required=True)


class RosterUploadSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "the roster (CSV or XLSX)"})


class RosterStoredSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)
    cadres = fields.Integer(required=True)
    new = fields.Boolean(required=True,
                         metadata={"description": "false when the same file was stored before"})
    warnings = fields.List(fields.Nested(ProblemSchema), required=True)
