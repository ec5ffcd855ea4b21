"""Errors raised by the Moodle bridge.

Moodle answers an error as a JSON body ``{"exception", "errorcode", "message", "debuginfo"?}``, with
HTTP 200 on some versions and 4xx on others, so the class is chosen from ``errorcode`` alone::

    MoodleError                      every error; keeps wsfunction, errorcode, exception, message, debuginfo
     ├── InvalidTokenError           invalidtoken: the token does not exist, expired or is not allowed here
     ├── AccessDeniedError           nopermissions, requireloginerror, wsusercannotassign, ...
     │    └── FunctionNotInServiceError  accessexception: the function is not in the token's service
     ├── InvalidParameterError       invalidparameter, missingparam: Moodle refused what we sent
     ├── NotFoundError               invalidrecord, invalidrecordunknown, invaliduser, invalidcourseid, ...
     ├── DuplicateError              shortnametaken, courseidnumbertaken, categoryidnumbertaken, idnumbertaken
     ├── TransientError              connection refused or reset, timeout, HTTP 5xx: may succeed if repeated
     │    ├── DatabaseReadError      dmlreadexception: a read the database failed
     │    └── DatabaseWriteError     dmlwriteexception: a write the database refused (a deadlock), rolled back
     └── ProtocolError               not a web-service answer: an HTML page, XML, truncated JSON, a bad shape
"""

from __future__ import annotations

from typing import Any


class MoodleError(Exception):
    """Any failure of a Moodle web-service call.

    The message is built from what we sent (``wsfunction``) and Moodle's codes, because with debugging off
    Moodle's own text is generic; Moodle's text can hold server paths, so show it to admins, not learners.
    """

    def __init__(
        self,
        message: str,
        *,
        wsfunction: str | None = None,
        errorcode: str | None = None,
        exception: str | None = None,
        debuginfo: str | None = None,
    ) -> None:
        self.wsfunction = wsfunction
        self.errorcode = errorcode
        self.exception = exception
        self.message = message
        self.debuginfo = debuginfo
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = self.wsfunction or "Moodle"
        code = f" [{self.errorcode}]" if self.errorcode else ""
        detail = f" ({self.debuginfo.strip()})" if self.debuginfo else ""
        return f"{where}{code}: {self.message}{detail}"


class InvalidTokenError(MoodleError):
    """The token is unknown, expired, or not valid for this site or address."""


class AccessDeniedError(MoodleError):
    """The token's user lacks a capability, a role assignment right, or access to the context."""


class FunctionNotInServiceError(AccessDeniedError):
    """The function exists but is not in the external service the token belongs to."""


class InvalidParameterError(MoodleError):
    """Moodle rejected a parameter: a wrong type, a missing key, or a value it does not accept."""


class NotFoundError(MoodleError):
    """A record (user, course, module, function) does not exist or cannot be seen."""


class DuplicateError(MoodleError):
    """A unique value (shortname, idnumber) is already taken."""


class TransientError(MoodleError):
    """The call did not get a usable answer for a reason that may pass: network, timeout, HTTP 5xx.

    For a write, the change may or may not have been made: re-read before trying again.
    """


class ProtocolError(MoodleError):
    """The answer is not what a Moodle web service sends: HTML, XML, truncated JSON or a wrong shape."""


class TruncatedAnswerError(TransientError, ProtocolError):
    """The JSON answer broke off (connection cut, worker killed): a read may be tried again; a write
    may have been committed."""


class DatabaseReadError(TransientError):
    """``dml_read_exception``: Moodle's database failed a read (a timeout, a deadlock); passes on retry."""


class DatabaseWriteError(TransientError):
    """``dml_write_exception``: Moodle's database refused a write: a deadlock between two calls that
    lock the same rows (users' access flags) in opposite orders, or a write Moodle builds wrongly itself
    (a grade saved without the feedback plugin's data where a comment exists), which fails every time.

    Moodle's web-service layer runs each call in one transaction and aborts it on this error, so the
    call wrote nothing; still, a write is only sent again after Moodle has been re-read, and only a few
    times.
    """


ERRORCODE_CLASSES: dict[str, type[MoodleError]] = {
    "dmlreadexception": DatabaseReadError,
    "dmlwriteexception": DatabaseWriteError,
    "invalidtoken": InvalidTokenError,
    "accessexception": FunctionNotInServiceError,
    "nopermissions": AccessDeniedError,
    "requireloginerror": AccessDeniedError,
    "wsusercannotassign": AccessDeniedError,
    "nopermissiontoviewgrades": AccessDeniedError,
    "cannotviewreport": AccessDeniedError,
    "errorreportview": AccessDeniedError,
    "errorreportedit": AccessDeniedError,
    "nopostforum": AccessDeniedError,
    "errorcoursecontextnotvalid": AccessDeniedError,
    "errorcatcontextnotvalid": AccessDeniedError,
    "setting_locked_by_permission": AccessDeniedError,
    "invalidparameter": InvalidParameterError,
    "missingparam": InvalidParameterError,
    "invalidrecord": NotFoundError,
    "invalidrecordunknown": NotFoundError,
    "invaliduser": NotFoundError,
    "invalidcourseid": NotFoundError,
    "invalidcoursemodule": NotFoundError,
    "unknowcategory": NotFoundError,
    "shortnametaken": DuplicateError,
    "courseidnumbertaken": DuplicateError,
    "categoryidnumbertaken": DuplicateError,
    "idnumbertaken": DuplicateError,
}


def from_response(wsfunction: str | None, body: dict[str, Any]) -> MoodleError:
    """Builds the error for a Moodle error body, choosing the class by ``errorcode``."""
    errorcode = body.get("errorcode")
    code = str(errorcode) if errorcode is not None else None
    cls = ERRORCODE_CLASSES.get(code or "", MoodleError)
    message = str(body.get("message") or body.get("error") or "Moodle reported an error")
    debuginfo = body.get("debuginfo")
    return cls(
        message,
        wsfunction=wsfunction,
        errorcode=code,
        exception=str(body["exception"]) if body.get("exception") is not None else None,
        debuginfo=str(debuginfo) if debuginfo else None,
    )
