"""Log lines: one JSON object per event when asked, naming the job, run and year a job runner set, and
never a secret or anything shaped like a token, in the message, its arguments or a traceback."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin_service.config import ConfigError, Settings
from plugin_service.db import upgrade
from plugin_service.logs import MASK, Redact, bind, configure, context, job_context
from plugin_service.services.platform.locks import job_lock

MOODLE_TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
SECRET_KEY = "the-secret-key-of-this-site"
METRICS_TOKEN = "metrics-bearer-credential"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """The root logger writes here for the test; pytest's own handlers come back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def settings(log_format: str = "json", **values: str) -> Settings:
    return Settings(moodle_token=MOODLE_TOKEN, secret_key=SECRET_KEY, metrics_token=METRICS_TOKEN,
                    log_format=log_format, **values)  # type: ignore[arg-type]


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_per_event_with_time_level_logger_and_message(output: io.StringIO) -> None:
    configure(settings(), stream=output)
    logging.getLogger("plugin_service.test").warning("%d cadres are behind", 12)

    [line] = lines(output)
    assert line.keys() == {"time", "level", "logger", "message"}
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "plugin_service.test",
                                                                "12 cadres are behind")
    assert str(line["time"]).endswith("+00:00") and "T" in str(line["time"])


def test_lines_name_the_job_its_run_and_year_while_the_job_holds_its_lock(output: io.StringIO,
                                                                        tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'cadre.sqlite3'}"
    upgrade(database_url)
    configure(settings(), stream=output)
    log = logging.getLogger("plugin_service.services.harvest")

    with job_lock(database_url, "harvest:2026"):
        log.info("reading the completion report")
        bind(run=41)
        log.info("course done")
    log.info("after the job")

    before, during, after = lines(output)
    assert (before["job"], before["year"]) == ("harvest", 2026) and "run" not in before
    assert (during["job"], during["run"], during["year"]) == ("harvest", 41, 2026)
    assert not {"job", "run", "year"} & after.keys()
    assert context() == {}


def test_a_job_inside_a_job_gives_back_the_outer_one() -> None:
    with job_context("engagement", 2026):
        bind(run=3)
        with job_context("harvest", 2027):
            assert context() == {"job": "harvest", "year": 2027}
        assert context() == {"job": "engagement", "run": 3, "year": 2026}


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_secrets_and_token_shaped_values_never_reach_a_line(output: io.StringIO, log_format: str) -> None:
    configure(settings(log_format), stream=output)
    log = logging.getLogger("moodle_bridge")
    console_token = "fedcba9876543210" + "0123456789abcdef"  # token-shaped, made here
    api_token = "cct_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"
    log.error("POST /webservice/rest/server.php?wstoken=%s&wsfunction=core_user_get_users", MOODLE_TOKEN)
    log.error("settings: %s", settings())
    log.error("key %s, metrics %s", SECRET_KEY, METRICS_TOKEN)
    log.error("header Authorization: Bearer %s", "a-bearer-credential-123")
    log.error("an API token %s and a console-set Moodle token %s", api_token, console_token)
    log.error("form token=%s", "hunter2-form-token")
    try:
        raise RuntimeError(f"connection to https://moodle.example.edu?wstoken={MOODLE_TOKEN} refused")
    except RuntimeError:
        log.exception("the call failed")

    text = output.getvalue()
    for secret in (MOODLE_TOKEN, SECRET_KEY, METRICS_TOKEN, "a-bearer-credential-123", api_token,
                   console_token, "hunter2-form-token"):
        assert secret not in text
    assert text.count(MASK) >= 8
    assert "core_user_get_users" in text and "the call failed" in text and "RuntimeError" in text


def test_the_passwords_of_the_database_and_broker_urls_are_masked(output: io.StringIO) -> None:
    configure(settings(database_url="postgresql+psycopg://cadre:db-password-42@db/cadre",
                       broker_url="redis://:broker-password-7@redis:6379/0"), stream=output)
    logging.getLogger("x").error("cannot connect with db-password-42 or broker-password-7")
    assert lines(output)[0]["message"] == f"cannot connect with {MASK} or {MASK}"


def test_a_token_the_process_learns_later_is_masked_too(output: io.StringIO) -> None:
    configure(settings(), stream=output)
    Redact.add_secrets(["token-set-in-the-console"])
    logging.getLogger("x").warning("using token-set-in-the-console now")
    assert lines(output)[0]["message"] == f"using {MASK} now"


def test_ordinary_values_are_left_alone(output: io.StringIO) -> None:
    configure(settings(), stream=output)
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # a SHA-256, not a token
    logging.getLogger("x").warning("certificate ABCDE-FGHJK pdf %s, task 3f2a-11", digest)
    assert lines(output)[0]["message"] == f"certificate ABCDE-FGHJK pdf {digest}, task 3f2a-11"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="log_format must be text or json"):
        configure(settings("xml"))


def test_the_cadre_command_logs_json_lines_when_asked(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CADRE_LOG_FORMAT": "json", "CADRE_SECRET_KEY": SECRET_KEY,
           "CADRE_DATABASE_URL": f"sqlite:///{tmp_path / 'cadre.sqlite3'}"}
    done = subprocess.run([str(Path(sys.executable).parent / "cadre"), "-v", "db", "upgrade"], env=env,
                          capture_output=True, text=True, timeout=120, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines and {line["logger"] for line in lines} >= {"alembic.runtime.migration"}
    assert "schema upgraded" in done.stdout and SECRET_KEY not in done.stderr
