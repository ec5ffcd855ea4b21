"""``docker/compose.yaml`` runs exactly the process set of ``plugin_service.deploy`` (which the process-set
test starts on this machine): the same commands, the same settings, from the one image, with exactly one
beat, the schema upgraded first, and the trial Moodle only in its profile. Docker is not needed: the
file is read as YAML."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from plugin_service import deploy
from plugin_service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
INTERPOLATED = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))  # merges the x-cadre anchor
    return loaded


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"][name]
    return found


@pytest.mark.parametrize("process", deploy.PROCESSES, ids=lambda p: p.name)
def test_each_process_runs_the_deployed_command(compose: dict[str, Any], process: deploy.Process) -> None:
    assert service(compose, process.name)["command"] == list(process.command)


@pytest.mark.parametrize("process", deploy.PROCESSES, ids=lambda p: p.name)
def test_each_process_gets_the_deployed_settings(compose: dict[str, Any], process: deploy.Process) -> None:
    environment = service(compose, process.name)["environment"]
    assert set(environment) == set(deploy.SETTINGS)
    for name, value in deploy.SETTINGS.items():
        if value is not None:
            assert environment[name] == value, name
    assert environment["CADRE_WEB_BIND"] == deploy.CONTAINER_BIND
    assert environment["CADRE_DATABASE_URL"].startswith("postgresql+psycopg://cadre:${CADRE_DB_PASSWORD")
    assert environment["CADRE_DATABASE_URL"].endswith("@postgres:5432/cadre")
    assert environment["CADRE_BROKER_URL"] == "redis://redis:6379/0"
    for secret in ("CADRE_SECRET_KEY", "CADRE_MOODLE_TOKEN", "CADRE_METRICS_TOKEN"):
        assert INTERPOLATED.fullmatch(environment[secret]), f"{secret} is written into the file"


def test_every_setting_of_the_set_is_a_setting_the_service_reads() -> None:
    known = {f"CADRE_{name.upper()}" for name in Settings.__dataclass_fields__}
    assert set(deploy.SETTINGS) - known == {"CADRE_WEB_BIND"}  # gunicorn's, read by gunicorn_conf


def test_one_image_for_every_process(compose: dict[str, Any]) -> None:
    images = {name: (service(compose, name)["image"], json.dumps(service(compose, name)["build"]))
              for name in deploy.BY_NAME}
    assert len(set(images.values())) == 1, images
    assert service(compose, "web")["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    command = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text("utf-8"), re.MULTILINE)
    assert command is not None and json.loads(command.group(1)) == list(deploy.BY_NAME["web"].command)


def test_exactly_one_beat_and_the_schema_first(compose: dict[str, Any]) -> None:
    beat = service(compose, "beat")
    assert beat["deploy"]["replicas"] == deploy.BY_NAME["beat"].replicas == 1
    assert "scale" not in beat
    migrate = service(compose, "migrate")
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "worker", "beat"):
        assert service(compose, name)["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}, name
        assert service(compose, name)["depends_on"]["redis"] == {"condition": "service_healthy"}, name


def test_the_web_process_is_published_and_checked_on_healthz(compose: dict[str, Any]) -> None:
    web = service(compose, "web")
    port = deploy.CONTAINER_BIND.rsplit(":", 1)[1]
    assert [mapping.rsplit(":", 1)[1] for mapping in web["ports"]] == [port]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(web["healthcheck"]["test"])


def test_postgresql_redis_and_a_trial_moodle_only_in_its_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    always = {name for name, spec in services.items() if "profiles" not in spec}
    assert always == set(deploy.BY_NAME) | {"postgres", "redis"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    trial = {name for name, spec in services.items() if spec.get("profiles") == ["moodle"]}
    assert trial == {"moodle", "moodle-db"}
    assert "moodle" in services["moodle"]["image"] and "build" not in services["moodle"]
    assert services["moodle"]["environment"]["MOODLE_DATABASE_HOST"] == "moodle-db"
