"""Errors the fake raises, carrying exactly what Moodle puts in an error body.

Every function module builds its errors here, so one Moodle exception reads the same whichever function
raises it; the constructors are named after the Moodle code that throws the exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .capabilities import capability_name
from .php import php_array


class WSError(Exception):
    """A Moodle exception as the REST server reports it."""

    def __init__(self, exception: str, errorcode: str | None, message: str,
                 debuginfo: str | None = None) -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo

    def body(self, debug: bool, *, branch: tuple[int, int] = (5, 1)) -> dict[str, Any]:
        """The error body as a site of release ``branch`` answers it; ``debuginfo`` only while it debugs."""
        body: dict[str, Any] = {"exception": self.exception}
        if self.errorcode is not None:
            body["errorcode"] = self.errorcode
        body["message"] = self.message
        if debug and self.debuginfo:
            body["debuginfo"] = self.debuginfo
        return body


MOODLE_EXCEPTION = "core\\exception\\moodle_exception"


def invalid_parameter(debuginfo: str) -> WSError:
    return WSError("core\\exception\\invalid_parameter_exception", "invalidparameter",
                   "Invalid parameter value detected", debuginfo)


def invalid_type(value: str, ptype: str, path: Sequence[str] = ()) -> WSError:
    """``invalidparameter`` for a value its PARAM type cleans differently, nested under ``path``'s keys
    as ``external_api::validate_parameters`` reports it."""
    debuginfo = (f'Invalid external api parameter: the value is "{value}", '
                 f'the server was expecting "{ptype}" type')
    for key in reversed(path):
        debuginfo = f"{key} => Invalid parameter value detected: {debuginfo}"
    return invalid_parameter(debuginfo)


def moodle_exception(errorcode: str, message: str, debuginfo: str | None = None) -> WSError:
    return WSError(MOODLE_EXCEPTION, errorcode, message, debuginfo)


def invalid_param(name: str) -> WSError:
    """``errorinvalidparam``: an option name or value a function does not accept."""
    return moodle_exception("errorinvalidparam", f'The param "{name}" is invalid.')


def php_error(message: str, exception: str = "Error") -> WSError:
    """A PHP ``Error``/``TypeError`` escaping a function: Moodle reports it without an error code."""
    return WSError(exception, None, message)


class MissingRecord(WSError):
    """``dml_missing_record_exception``, whose code depends on the site's debugging when it answers.

    Moodle 5.1 with debugging off says ``invalidrecordunknown`` ("Can't find data record in
    database."); with debugging on, what the throwing code asked for: ``invalidrecord`` naming the table
    for a plain read, or the caller's own code (``invaliduser``...). 4.5 always says what the throwing
    code asked for, with ``debuginfo`` only while it debugs.
    """

    def __init__(self, table: str, debuginfo: str, *, errorcode: str = "invalidrecord",
                 message: str | None = None) -> None:
        super().__init__("dml_missing_record_exception", "invalidrecordunknown",
                         "Can't find data record in database.", debuginfo)
        self.debug_errorcode = errorcode
        self.debug_message = message or f"Can't find data record in database table {table}."

    def body(self, debug: bool, *, branch: tuple[int, int] = (5, 1)) -> dict[str, Any]:
        if not debug and branch >= (5, 0):
            return super().body(debug)
        body: dict[str, Any] = {"exception": self.exception, "errorcode": self.debug_errorcode,
                                "message": self.debug_message}
        if debug:
            body["debuginfo"] = self.debuginfo
        return body


def missing_record_where(table: str, sql: str, values: Sequence[Any], *, errorcode: str = "invalidrecord",
                         message: str | None = None) -> WSError:
    """A missing record of ``$DB->get_record_sql`` (or a lookup by several fields)."""
    return MissingRecord(table, f"{sql}\n[{php_array(enumerate(values))}]", errorcode=errorcode,
                         message=message)


def missing_record(table: str, value: Any, *, field: str = "id", columns: str = "*",
                   errorcode: str = "invalidrecord", message: str | None = None) -> WSError:
    """A missing record of ``$DB->get_record($table, [$field => $value], $columns, MUST_EXIST)``."""
    return missing_record_where(table, f"SELECT {columns} FROM {{{table}}} WHERE {field} = ?", [value],
                                errorcode=errorcode, message=message)


def missing_user(userid: Any) -> WSError:
    """``core_user::get_user(..., MUST_EXIST)`` of a user that does not exist."""
    return missing_record("user", userid, errorcode="invaliduser", message="Invalid user")


def missing_course_module(cmid: Any) -> WSError:
    """``get_coursemodule_from_id(..., MUST_EXIST)`` of a course module that does not exist."""
    return missing_record("course_modules", cmid, columns="id,course", errorcode="invalidcoursemodule",
                          message="Invalid course module ID")


def no_permissions(capability: str) -> WSError:
    return WSError("core\\exception\\required_capability_exception", "nopermissions",
                   "Sorry, but you do not currently have permissions to do that "
                   f"({capability_name(capability)}).", capability)


def require_login(debuginfo: str = "") -> WSError:
    return WSError("core\\exception\\require_login_exception", "requireloginerror",
                   "Course or activity not accessible.", debuginfo or None)


def context_not_valid(level: str, instanceid: int, cause: WSError) -> WSError:
    """How functions report a failed ``validate_context`` of a course or a category (``level``)."""
    code = "errorcoursecontextnotvalid" if level == "course" else "errorcatcontextnotvalid"
    return moodle_exception(code, f"You cannot execute functions in the {level} context ({level} id:"
                                  f"{instanceid}). The context error message was: {cause.message}")


def coding_error(message: str, debuginfo: str | None = None) -> WSError:
    return WSError("core\\exception\\coding_exception", "codingerror",
                   f"Coding error detected, it must be fixed by a programmer: {message}", debuginfo)
