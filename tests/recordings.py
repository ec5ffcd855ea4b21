"""The recordings of a real Moodle (``tests/contract/recordings``) as test cases for the client areas.

Every area test feeds recorded answers to the client through one stub session and holds the client to
the same rules: a success parses into the typed result, an error raises the ``MoodleError`` class its
``errorcode`` maps to, one recorded call is one HTTP call, and where the recording kept the form it sent,
the client sends the same form.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import pytest
import requests

from moodle_bridge import MoodleClient
from moodle_bridge.errors import ERRORCODE_CLASSES, MoodleError, ProtocolError
from moodle_bridge.fake.external import decode_form

CONTRACT = Path(__file__).resolve().parent / "contract" / "recordings"
needs_recordings = pytest.mark.skipif(not CONTRACT.is_dir(),
                                      reason="tests/contract/recordings (the recordings) is absent")
# Where each set of recordings lives, by the name a recorded call's origin starts with.
SCENARIOS = {"scenarios": CONTRACT / "5.1" / "scenarios", "scenarios-4.5": CONTRACT / "4.5" / "scenarios"}
SINGLE_CALLS = CONTRACT / "5.1" / "single-calls"
CONTROL = ("wstoken", "wsfunction", "moodlewsrestformat")
# How a test calls the client for a recorded call: with the recorded parameters.
Invoke = Callable[[MoodleClient, dict[str, Any]], Any]
JSON = "application/json"
_REF = re.compile(r"\$\{(s\d+)\.response((?:\[\d+\]|\.\w+)*)\}")
_PART = re.compile(r"\[(\d+)\]|\.(\w+)")


@dataclass
class Recorded:
    """One recorded call: where it comes from, what was sent, what Moodle answered."""

    where: str
    function: str
    params: dict[str, Any]
    encoded: list[tuple[str, str]] | None
    http_status: int
    response: Any
    content_type: str = JSON

    @property
    def is_error(self) -> bool:
        return isinstance(self.response, dict) and "exception" in self.response

    @property
    def non_json_body(self) -> str | None:
        """The raw body of an answer that was not JSON (kept as text by the recorder)."""
        body = self.response.get("_non_json_body") if isinstance(self.response, dict) else None
        return None if body is None else str(body)

    @property
    def abridged(self) -> bool:
        """The recorder shortened a long list with a placeholder ("... 198 more users")."""
        return "... " in json.dumps(self.params) or "... " in json.dumps(self.response)


def _lookup(answers: dict[str, Any], step: str, path: str) -> Any:
    node = answers[step]
    for index, key in _PART.findall(path):
        node = node[int(index)] if index else node[key]
    return node


def _resolve(value: Any, answers: dict[str, Any]) -> Any:
    """``${s3.response[0].id}`` references to earlier answers, replaced by the recorded values."""
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            return _lookup(answers, whole.group(1), whole.group(2))
        return _REF.sub(lambda m: str(_lookup(answers, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_resolve(item, answers) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, answers) for key, item in value.items()}
    return value


def _listify(value: Any) -> Any:
    """PHP form arrays (``a[0]=x``) decoded as dicts keyed "0", "1"... turned back into lists."""
    if isinstance(value, dict):
        if value and all(key.isdigit() for key in value):
            return [_listify(value[key]) for key in sorted(value, key=int)]
        return {key: _listify(item) for key, item in value.items()}
    return value


def recorded_calls(functions: Collection[str] | str) -> list[Recorded]:
    """Every recorded call of ``functions`` (or of the functions starting with a prefix), 5.1 and 4.5
    scenarios first, then the 5.1 single calls; empty when the recordings are absent."""
    def wanted(function: Any) -> bool:
        if not isinstance(function, str):
            return False
        return function.startswith(functions) if isinstance(functions, str) else function in functions

    if not CONTRACT.is_dir():
        return []
    calls: list[Recorded] = []
    for folder, directory in SCENARIOS.items():
        for path in sorted(directory.glob("*.json")):
            answers: dict[str, Any] = {}
            for step in json.loads(path.read_text("utf-8"))["steps"]:
                answers[step["id"]] = step.get("response")
                if not wanted(step.get("function")) or step.get("method") == "GET":
                    continue
                encoded = step.get("encoded")
                calls.append(Recorded(
                    f"{folder}/{path.stem} {step['id']}", step["function"],
                    _resolve(step.get("params") or {}, answers),
                    None if encoded is None else [(pair[0], pair[1]) for pair in encoded],
                    int(step["http_status"]), step["response"], str(step.get("content_type") or JSON)))
    for path in sorted(SINGLE_CALLS.glob("*.json")):
        call = json.loads(path.read_text("utf-8"))
        if not isinstance(call, dict) or not wanted(call.get("function")):
            continue
        params = call.get("params") or {}
        form = None
        if call.get("form_fields") is not None:
            form = [(pair[0], pair[1]) for pair in call["form_fields"] if pair[0] not in CONTROL]
        elif call.get("method") == "GET":  # sent in the URL: the parameters are the form
            form = [(key, str(value)) for key, value in params.items() if key not in CONTROL]
            params = _listify(decode_form(form))
        calls.append(Recorded(f"single-calls-5.1/{path.stem}", call["function"], params, form,
                              int(call.get("http_status") or 200), call["response"],
                              str(call.get("content_type") or JSON)))
    return calls


def recorded_files() -> list[Path]:
    """Every recorded file: the 5.1 and 4.5 scenarios, then the 5.1 single calls (``_index.json`` too)."""
    return [path for directory in (*SCENARIOS.values(), SINGLE_CALLS)
            for path in sorted(directory.glob("*.json"))]


def where(calls: Sequence[Recorded]) -> list[str]:
    """Test ids: each call's origin."""
    return [call.where for call in calls]


def find(calls: Sequence[Recorded], origin: str) -> Recorded:
    """The recorded call from ``origin`` (``scenarios/groups s7``); the test is skipped without it."""
    for call in calls:
        if call.where == origin:
            return call
    pytest.skip(f"recording {origin} is absent")


# --- a client for an endpoint mocked with ``responses`` -----------------------------------------------

URL = "http://moodle.test"
ENDPOINT = URL + "/webservice/rest/server.php"


def endpoint_client(**options: Any) -> MoodleClient:
    """A client of the mocked ``ENDPOINT`` that never retries (``batch_size`` 1000 unless given)."""
    options.setdefault("batch_size", 1000)
    return MoodleClient(URL, "0" * 32, timeout=5, retries=0, **options)


def posted(call: Any) -> dict[str, str]:
    """The form one mocked call (a ``responses`` call, or its request) carried, envelope included."""
    body = getattr(call, "request", call).body
    text = body.decode("utf-8") if isinstance(body, bytes) else str(body or "")
    return dict(parse_qsl(text, keep_blank_values=True))


# --- a client whose HTTP answers are canned --------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    body: Any
    status: int = 200
    content_type: str = JSON
    raw: bool = False  # ``body`` is the text to send, not a value to encode as JSON


class Sent(NamedTuple):
    """One call the client made: the function and its form without the token and format."""

    function: str
    pairs: list[tuple[str, str]]

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.pairs)


class StubSession(requests.Session):
    """Answers each POST with the next canned answer and keeps what it was sent.

    With ``repeat_last`` the last answer serves every further call; without, a call beyond the answers
    fails the test (the client made a call nobody expected).
    """

    def __init__(self, answers: Sequence[Answer], repeat_last: bool = False) -> None:
        super().__init__()
        self.answers = list(answers)
        self.repeat_last = repeat_last
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        pairs = [(str(key), str(value)) for key, value in data]
        with self._lock:
            self.sent.append(Sent(dict(pairs)["wsfunction"], [p for p in pairs if p[0] not in CONTROL]))
            if not self.answers:
                raise AssertionError("the client made more calls than there are answers")
            answer = self.answers[0] if self.repeat_last and len(self.answers) == 1 else self.answers.pop(0)
        response = requests.Response()
        response.status_code = answer.status
        response._content = (answer.body if answer.raw else _dumps(answer.body)).encode("utf-8")
        response.headers["Content-Type"] = answer.content_type
        response.url = str(url)
        return response


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


def answer_of(recorded: Recorded) -> Answer:
    """The recorded answer as the site sent it."""
    body = recorded.non_json_body
    if body is not None:
        return Answer(body, recorded.http_status, recorded.content_type, raw=True)
    return Answer(recorded.response, recorded.http_status, recorded.content_type)


def stub_client(*answers: Answer | tuple[int, Any] | Any, batch_size: int = 100, max_workers: int = 1,
                repeat_last: bool = False) -> tuple[MoodleClient, StubSession]:
    """A client whose calls get ``answers`` in turn: ``Answer``s, (HTTP status, JSON body) pairs, or
    JSON bodies answered with HTTP 200."""
    def answer(item: Answer | tuple[int, Any] | Any) -> Answer:
        if isinstance(item, Answer):
            return item
        if isinstance(item, tuple):
            return Answer(item[1], item[0])
        return Answer(item)

    session = StubSession([answer(item) for item in answers], repeat_last)
    client = MoodleClient("http://moodle.invalid", "t" * 32, retries=0, batch_size=batch_size,
                          max_workers=max_workers, session_factory=lambda: session)
    return client, session


# --- what every recorded call must satisfy --------------------------------------------------------------

def _norm(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(key.isdigit() for key in node):
            items = [_norm(node[key]) for key in sorted(node, key=int)]
            if all(isinstance(item, dict) and set(item) in ({"name", "value"}, {"key", "value"})
                   for item in items):
                items.sort(key=lambda item: json.dumps(item, sort_keys=True))
            return items
        return {key: _norm(value) for key, value in node.items()}
    return node


def as_php_reads(pairs: list[tuple[str, str]]) -> Any:
    """Form pairs as PHP reads them: nested arrays, name/value option lists compared as sets."""
    return _norm(decode_form(list(pairs)))


def expected_error(recorded: Recorded) -> type[MoodleError] | None:
    """The error class a recorded answer must raise, None for a success."""
    if recorded.non_json_body is not None:
        return ProtocolError
    if not recorded.is_error:
        return None
    return ERRORCODE_CLASSES.get(str(recorded.response.get("errorcode") or ""), MoodleError)


def check_recorded(recorded: Recorded, invoke: Invoke, *, exact: bool = True, as_php: bool = False,
                   raises: type[MoodleError] | None = None,
                   verify: Callable[[Any, Any], None] | None = None) -> Any:
    """Feeds the recorded answer to ``invoke(client, recorded params)``; returns its result, or the error
    it raised. ``verify(result, recorded answer)`` checks a success further.

    ``exact`` is False where the typed API cannot express the recorded form (then it is not compared);
    ``as_php`` compares the form as PHP reads it (key order and option order do not matter);
    ``raises`` names the error class when the area wraps Moodle's (``MessageDeliveryError``).
    """
    error = raises if raises is not None and recorded.is_error else expected_error(recorded)
    result: Any
    client, session = stub_client(answer_of(recorded), batch_size=1000)
    if error is not None:
        with pytest.raises(MoodleError) as caught:
            invoke(client, recorded.params)
        assert type(caught.value) is error
        if error is not ProtocolError:
            assert caught.value.errorcode == recorded.response.get("errorcode")
            assert caught.value.wsfunction == recorded.function
        result = caught.value
    else:
        result = invoke(client, recorded.params)
        if verify is not None:
            verify(result, recorded.response)
    assert len(session.sent) == 1, "one recorded call is one HTTP call"
    assert session.sent[0].function == recorded.function
    if exact and recorded.encoded is not None:
        if as_php:
            assert as_php_reads(session.sent[0].pairs) == as_php_reads(recorded.encoded)
        else:
            assert session.sent[0].pairs == recorded.encoded
    return result
