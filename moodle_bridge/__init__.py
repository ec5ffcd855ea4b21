"""A typed client for Moodle's REST web services, and a fake Moodle to test it against."""

from .client import MoodleClient
from .errors import (
    AccessDeniedError,
    DatabaseReadError,
    DatabaseWriteError,
    DuplicateError,
    FunctionNotInServiceError,
    InvalidParameterError,
    InvalidTokenError,
    MoodleError,
    NotFoundError,
    ProtocolError,
    TransientError,
    TruncatedAnswerError,
)
from .preflight import Preflight
from .retry import Retry

__all__ = [
    "AccessDeniedError",
    "DatabaseReadError",
    "DatabaseWriteError",
    "DuplicateError",
    "FunctionNotInServiceError",
    "InvalidParameterError",
    "InvalidTokenError",
    "MoodleClient",
    "MoodleError",
    "NotFoundError",
    "Preflight",
    "ProtocolError",
    "Retry",
    "TransientError",
    "TruncatedAnswerError",
]
