"""Who may reach what: every route but sign-in, static files and verification refuses an anonymous
request; every form post without its CSRF token is refused; each role sees exactly its pages."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.routing import Rule

from plugin_service.web.access import ADMIN, EVERYONE, public

from .conftest import add_users, make_app, settings_for, sign_in, token

SAMPLE_VALUES = {"int": 1, "default": "T20001", "path": "T20001"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Sign-in, roles and CSRF are the web layer's and the same on either database: one SQLite console
    for the module (the pages' data is tested on both); these tests change no stored state."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('access') / 'cadre.sqlite3'}"
    made = make_app(settings_for(database_url))
    made.config["CADRE_LOGIN_RATE_LIMIT"] = "1000/minute"  # the module signs in often
    add_users(database_url)
    return made


def url_of(app: Flask, rule: Rule) -> str:
    values = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__.lower()
        values[name] = SAMPLE_VALUES["int"] if "integer" in converter else SAMPLE_VALUES["default"]
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def console_rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if not public(rule.endpoint)]


def api_rule(rule: Rule) -> bool:
    return rule.endpoint.split(".")[0] in ("api", "api-docs")


def lti_rule(rule: Rule) -> bool:
    return rule.endpoint.split(".")[0] == "lti"


#: The LTI protocol's own endpoints: the platform's browser redirects and posts, and the tool's key set.
LTI_PROTOCOL = ("lti.login", "lti.launch", "lti.jwks", "lti.register_tool")


PROBES = ("probes.healthz", "probes.readyz", "probes.metrics")  # the metrics ask for their own token


def test_only_sign_in_static_files_verification_and_the_probes_are_public(app: Flask) -> None:
    opened = sorted({rule.endpoint for rule in app.url_map.iter_rules()
                     if public(rule.endpoint) and not api_rule(rule) and not lti_rule(rule)})
    assert opened == sorted(e for e in opened if e in ("auth.login", "static", "verify.verify", *PROBES)
                            or e.endswith(".static"))
    assert {"auth.login", "verify.verify", *PROBES} <= set(opened)


def test_the_lti_pages_ask_for_the_launch_token_on_every_request(app: Flask) -> None:
    """Moodle frames the tool, where cookies may be refused: no console session opens its pages, each
    request shows the token a launch signed, else 401; only the protocol's own endpoints are open."""
    client = app.test_client()
    rules = [rule for rule in app.url_map.iter_rules() if lti_rule(rule)]
    assert set(LTI_PROTOCOL) <= {rule.endpoint for rule in rules}
    pages = [rule for rule in rules if rule.endpoint not in LTI_PROTOCOL]
    assert len(pages) >= 6
    for rule in pages:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = client.open(url_of(app, rule), method=method)
            assert answer.status_code == 401, (rule.endpoint, method, answer.status_code)
            answer = client.open(url_of(app, rule) + "?t=forged", method=method)
            assert answer.status_code == 401, (rule.endpoint, method, "forged token")


def test_the_api_authenticates_each_request_itself_and_refuses_anonymous_ones(app: Flask) -> None:
    """The JSON API takes no console session: a token on every request, else 401 in its format."""
    client = app.test_client()
    rules = [rule for rule in app.url_map.iter_rules() if api_rule(rule)]
    assert len(rules) >= 6
    for rule in rules:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = client.open(url_of(app, rule), method=method)
            assert answer.status_code == 401, (rule, method, answer.status_code)
            assert answer.get_json()["error"]["code"] == "unauthorized"


def test_every_other_route_refuses_an_anonymous_request(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for rule in console_rules(app):
        url = url_of(app, rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = client.open(url, method=method)
            if method == "GET":
                assert answer.status_code == 302, (rule, method)
                assert answer.headers["Location"].startswith("/login"), (rule, answer.headers["Location"])
            else:
                assert answer.status_code == 401, (rule, method, answer.status_code)
            checked += 1
    assert checked >= 20


def test_every_console_view_names_the_roles_that_may_open_it(app: Flask) -> None:
    for rule in console_rules(app):
        if rule.endpoint.partition(".")[0] == "api":
            continue  # the API authenticates its own requests with tokens
        roles = getattr(app.view_functions[rule.endpoint], "_cadre_roles", None)
        assert roles, f"{rule.endpoint} has no @allow"


def test_a_form_posted_without_its_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": "x"}).status_code == 400
    sign_in(client, "admin")
    posts = [rule for rule in console_rules(app) if "POST" in (rule.methods or set())
             and not rule.endpoint.startswith("api.")]
    assert len(posts) >= 8
    for rule in posts:
        answer = client.post(url_of(app, rule), data={})
        assert answer.status_code == 400, (rule, answer.status_code)
        assert "表单已过期" in answer.get_data(as_text=True)
    # With its token the same sign-out goes through.
    assert client.post("/logout", data={"csrf_token": token(client, "/")}).status_code == 302


def admin_only(app: Flask) -> list[Rule]:
    return [rule for rule in console_rules(app) if not rule.endpoint.startswith("api.")
            and getattr(app.view_functions[rule.endpoint], "_cadre_roles", None) == frozenset({ADMIN})]


@pytest.mark.parametrize("role", ["officer", "reviewer"])
def test_officers_and_reviewers_never_reach_an_admin_page(app: Flask, role: str) -> None:
    client = sign_in(app.test_client(), role)
    pages = admin_only(app)
    assert {rule.endpoint for rule in pages} >= {
        "inputs.index", "jobs.index", "audit.index", "settings.index", "inputs.upload_files",
        "jobs.retry_job", "settings.save"}
    for rule in pages:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token(client, "/")} if method == "POST" else None
            answer = client.open(url_of(app, rule), method=method, data=data)
            assert answer.status_code == 403, (role, rule, method, answer.status_code)
    text = client.get("/").get_data(as_text=True)
    assert 'id="nav-settings"' not in text and 'id="nav-reports"' in text


@pytest.mark.parametrize("role", ["admin", "officer", "reviewer"])
def test_every_role_opens_the_shared_pages(app: Flask, role: str) -> None:
    client = sign_in(app.test_client(), role)
    for path in ("/", "/cadres/", "/reports/"):
        assert client.get(path).status_code == 200, (role, path)
    shared = {rule.endpoint for rule in console_rules(app)
              if getattr(app.view_functions[rule.endpoint], "_cadre_roles", None) == frozenset(EVERYONE)}
    assert {"dashboard.index", "cadres.index", "cadres.show", "reports.index", "reports.export"} <= shared


def test_admin_opens_every_admin_page(app: Flask) -> None:
    client = sign_in(app.test_client(), "admin")
    for path in ("/inputs/", "/jobs/", "/audit/", "/settings/"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert 'id="nav-settings"' in answer.get_data(as_text=True)


def test_pages_carry_security_headers_and_are_never_cached(app: Flask) -> None:
    client = sign_in(app.test_client(), "admin")
    for path in ("/", "/login", "/no-such-page"):
        answer = client.get(path)
        policy = answer.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-store"
    css = client.get("/assets/console.css")
    assert css.status_code == 200 and css.headers.get("Cache-Control") != "no-store"
    css.close()
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Traceback" not in missing.get_data(as_text=True)


def test_an_error_shows_a_plain_page_without_its_trace(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from plugin_service.web import dashboard

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(dashboard, "dashboard", broken)
    client = sign_in(app.test_client(), "admin")
    answer = client.get("/")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 500
    assert "系统出现错误" in text and "secret internals" not in text and "Traceback" not in text
