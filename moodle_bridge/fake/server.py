"""The fake Moodle over HTTP: ``/webservice/rest/server.php`` plus a test interface under ``/_fake/``.

Served by werkzeug's threaded server on loopback, in-process (``serve``) or as a program
(``python -m moodle_bridge.fake``). Simulated latency is slept outside the site's lock, bounded by the
profile's worker count, so concurrency behaves as on a real site. With contention on (the ``moodle``
profile's default, or ``contention=True``), a write call arriving while another write in flight holds
one of its users answers ``dmlwriteexception`` and writes nothing (``contention.py``).

``/_fake/stats`` also tells whether contention is on, how many calls answered ``dmlwriteexception`` for it
(``dmlwriteexception``) and the most web-service calls served at once (``peak_in_flight``).

Every answer's ``Date`` header is the site's clock, as a real site's web server dates its answers with
the clock Moodle writes its times with: a clock set or advanced through ``/_fake/clock`` shows there.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .contention import Contention
from .costs import Faults, Latency
from .site import FakeSite
from .wserror import WSError

SERVER_PATH = "/webservice/rest/server.php"


class FakeMoodleApp:
    """The WSGI application of one fake site.

    ``contention`` None follows the latency profile's (on for ``moodle``, also after ``set_latency``);
    True or False holds whatever the profile says.
    """

    def __init__(self, site: FakeSite, latency: Latency | None = None,
                 faults: Faults | None = None, contention: bool | None = None) -> None:
        self.site = site
        self.latency = latency or Latency()
        self.faults = faults or Faults()
        self._workers = threading.BoundedSemaphore(self.latency.workers or 1024)
        self._contention_forced = contention
        self.contention = Contention(self.latency.contention if contention is None else contention)
        self._flight_lock = threading.Lock()
        self._in_flight = 0
        self.peak_in_flight = 0

    def set_latency(self, latency: Latency) -> None:
        self.latency = latency
        self._workers = threading.BoundedSemaphore(latency.workers or 1024)
        if self._contention_forced is None:
            self.contention.enabled = latency.contention

    def set_contention(self, enabled: bool) -> None:
        """Turns contention on or off from now on, whatever the latency profile says."""
        self._contention_forced = enabled
        self.contention.enabled = enabled

    def _flying(self, delta: int) -> None:
        with self._flight_lock:
            self._in_flight += delta
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == SERVER_PATH:
            response = self._webservice(request)
        elif request.path.startswith("/_fake/"):
            response = self._test_interface(request)
        elif request.path == "/login/token.php":
            response = _json({"error": "Web service is not available. (It doesn't exist or might be "
                              "disabled.)", "errorcode": "servicenotavailable", "stacktrace": None,
                              "debuginfo": None, "reproductionlink": None})
        elif request.path in ("/", "/index.php"):
            response = Response(f"<!DOCTYPE html><html><head><title>{escape(self.site.sitename)}"
                                "</title></head><body><h1>Moodle</h1></body></html>",
                                content_type="text/html; charset=utf-8")
        else:
            response = Response("<!DOCTYPE html><html><body>Not found</body></html>", status=404,
                                content_type="text/html; charset=utf-8")
        return response(environ, start_response)

    def _webservice(self, request: Request) -> Response:
        values = list(request.args.items(multi=True)) + list(request.form.items(multi=True))
        fields = dict(values)
        token = fields.pop("wstoken", None)
        wsfunction = fields.pop("wsfunction", None)
        fmt = fields.pop("moodlewsrestformat", "xml")
        pairs = [(key, value) for key, value in values
                 if key not in ("wstoken", "wsfunction", "moodlewsrestformat")]
        from .external import decode_form

        raw = decode_form(pairs)
        fault = self.faults.draw()
        with self._workers:
            self._flying(+1)
            try:
                response = self._serve(token, wsfunction or "", raw, fmt, fault)
            finally:
                self._flying(-1)
        if fault == "timeout":
            time.sleep(self.faults.timeout_s)
        if fault == "truncated":
            body = response.get_data()
            response.set_data(body[: max(1, len(body) // 2)])
        return response

    def _serve(self, token: str | None, wsfunction: str, raw: dict[str, Any], fmt: str,
               fault: str | None) -> Response:
        """One call inside a worker: its latency, a fault drawn for it before it runs, or its answer.
        Its users stay held (contention) until the answer is made."""
        runs = fault not in ("http500", "http503", "exception")
        with self.contention.hold(self.site, token if runs else None, wsfunction, raw) as refuse:
            delay = self.latency.seconds(wsfunction, self.site.item_count(wsfunction, raw))
            if delay:
                time.sleep(delay)
            if fault in ("http500", "http503"):
                status = 500 if fault == "http500" else 503
                return Response("<!DOCTYPE html><html><body><h1>Service unavailable</h1></body></html>",
                                status=status, content_type="text/html; charset=utf-8")
            if fault == "exception":
                error = WSError("dml_read_exception", "dmlreadexception", "Error reading from database")
                return self._answer(fmt, self.site.error_body(error))
            try:
                result: Any = self.site.handle(token, wsfunction, raw, refuse=refuse)
            except WSError as exc:
                if exc is refuse:
                    self.contention.answered_deadlock()
                result = self.site.error_body(exc)
            return self._answer(fmt, result)

    def _answer(self, fmt: str, result: Any) -> Response:
        if fmt == "json":
            return _json(result)
        return Response(_to_xml(result), content_type="application/xml; charset=utf-8")

    def _test_interface(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        name = request.path.removeprefix("/_fake/")
        site = self.site
        if name == "site_action" and request.method == "POST":
            try:
                return _json({"response": site.site_action(body["action"], body.get("args"))})
            except (KeyError, ValueError, WSError) as exc:
                return _json({"error": str(exc)}, status=400)
        if name == "stats":
            with site.lock:
                return _json({"calls": dict(site.calls), "items": dict(site.items),
                              "total": sum(site.calls.values()), "contention": self.contention.enabled,
                              "dmlwriteexception": self.contention.deadlocks,
                              "peak_in_flight": self.peak_in_flight})
        if name == "reset_stats" and request.method == "POST":
            with site.lock:
                site.calls.clear()
                site.items.clear()
            self.contention.reset()
            with self._flight_lock:
                self.peak_in_flight = self._in_flight
            return _json({"ok": True})
        if name == "contention" and request.method == "POST":
            self.set_contention(bool(body.get("on")))
            return _json({"contention": self.contention.enabled})
        if name == "clock" and request.method == "POST":
            if "set" in body:
                site.clock.set(float(body["set"]), frozen=bool(body.get("frozen")))
            if "advance" in body:
                site.clock.advance(float(body["advance"]))
            return _json({"now": site.now()})
        if name == "faults" and request.method == "POST":
            self.faults = Faults(rate=float(body.get("rate", 0)), seed=int(body.get("seed", 0)),
                                 kinds=tuple(body.get("kinds") or self.faults.kinds),
                                 timeout_s=float(body.get("timeout_s", self.faults.timeout_s)))
            return _json({"ok": True})
        return _json({"error": f"unknown test interface call {name!r}"}, status=404)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), status=status,
                    content_type="application/json")


def _to_xml(result: Any) -> str:
    if isinstance(result, dict) and "exception" in result:
        parts = ['<?xml version="1.0" encoding="UTF-8" ?>\n',
                 f'<EXCEPTION class="{escape(result["exception"])}">\n']
        if result.get("errorcode") is not None:
            parts.append(f"<ERRORCODE>{escape(str(result['errorcode']))}</ERRORCODE>\n")
        parts.append(f"<MESSAGE>{escape(str(result['message']))}</MESSAGE>\n")
        if result.get("debuginfo"):
            parts.append(f"<DEBUGINFO>{escape(str(result['debuginfo']))}</DEBUGINFO>\n")
        parts.append("</EXCEPTION>\n")
        return "".join(parts)
    return f'<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n{_xml_value(result)}</RESPONSE>\n'


def _xml_value(value: Any) -> str:
    if isinstance(value, dict):
        keys = "".join(f'<KEY name="{escape(str(k))}">{_xml_value(v)}</KEY>\n' for k, v in value.items())
        return f"<SINGLE>\n{keys}</SINGLE>\n"
    if isinstance(value, list):
        return "<MULTIPLE>\n" + "".join(_xml_value(v) for v in value) + "</MULTIPLE>\n"
    if value is None:
        return '<VALUE null="null"/>'
    if isinstance(value, bool):
        value = int(value)
    return f"<VALUE>{escape(str(value))}</VALUE>\n"


class _SiteDatedHandler(WSGIRequestHandler):
    """Dates each answer (the ``Date`` header) with the served site's clock instead of the machine's."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        app = getattr(self.server, "app", None)
        if timestamp is None and isinstance(app, FakeMoodleApp):
            timestamp = app.site.now()
        return super().date_time_string(timestamp)


@dataclass
class RunningFake:
    """A fake Moodle served on loopback from a background thread."""

    app: FakeMoodleApp
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def site(self) -> FakeSite:
        return self.app.site

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningFake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(site: FakeSite, *, host: str = "127.0.0.1", port: int = 0,
          latency: Latency | None = None, faults: Faults | None = None,
          contention: bool | None = None) -> RunningFake:
    """Starts serving ``site`` in a daemon thread; port 0 picks a free port. ``contention`` None follows
    the latency profile's."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = FakeMoodleApp(site, latency, faults, contention)
    server = make_server(host, port, app, threaded=True, request_handler=_SiteDatedHandler)
    server.daemon_threads = True  # type: ignore[attr-defined]  # ThreadingMixIn's switch
    site.siteurl = f"http://{host}:{server.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-moodle", daemon=True)
    thread.start()
    return RunningFake(app, server, thread)
