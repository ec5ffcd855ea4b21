"""Errors the fake raises, carrying exactly what Moodle puts in an error body."""

from __future__ import annotations

from typing import Any


class WSError(Exception):
    """A Moodle exception as the REST server reports it."""

    def __init__(self, exception: str, errorcode: str | None, message: str,
                 debuginfo: str | None = None) -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo

    def body(self, debug: bool) -> dict[str, Any]:
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


def moodle_exception(errorcode: str, message: str, debuginfo: str | None = None) -> WSError:
    return WSError(MOODLE_EXCEPTION, errorcode, message, debuginfo)


class MissingRecord(WSError):
    """``dml_missing_record_exception``, whose code depends on the site's debugging.

    Moodle 5.1 with debugging off says ``invalidrecordunknown`` ("Can't find data record in
    database."); with debugging on ``invalidrecord`` naming the table, as 4.5 always does.
    """

    def __init__(self, table: str, debuginfo: str) -> None:
        super().__init__("dml_missing_record_exception", "invalidrecordunknown",
                         "Can't find data record in database.", debuginfo)
        self.table = table

    def body(self, debug: bool) -> dict[str, Any]:
        if not debug:
            return super().body(debug)
        return {"exception": self.exception, "errorcode": "invalidrecord",
                "message": f"Can't find data record in database table {self.table}.",
                "debuginfo": self.debuginfo}


def missing_record(table: str, value: Any, *, field: str = "id") -> WSError:
    return MissingRecord(table, f"SELECT * FROM {{{table}}} WHERE {field} = ?\n"
                                f"[array (\n  0 => {value},\n)]")


def no_permissions(capability: str, capability_name: str) -> WSError:
    return WSError("core\\exception\\required_capability_exception", "nopermissions",
                   f"Sorry, but you do not currently have permissions to do that ({capability_name}).",
                   capability)


def require_login(debuginfo: str = "") -> WSError:
    return WSError("core\\exception\\require_login_exception", "requireloginerror",
                   "Course or activity not accessible.", debuginfo or None)


def coding_error(message: str, debuginfo: str | None = None) -> WSError:
    return WSError("core\\exception\\coding_exception", "codingerror",
                   f"Coding error detected, it must be fixed by a programmer: {message}", debuginfo)
