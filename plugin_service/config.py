"""Settings from the environment (``CADRE_*``) or a TOML file named by ``CADRE_CONFIG``.

Secrets (the Moodle token, the secret key) are read here and nowhere else; ``Settings.__repr__`` hides
them so they never reach a log line or an error page.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the setting and where it was read."""


@dataclass(frozen=True)
class Settings:
    moodle_url: str = ""
    moodle_token: str = ""
    moodle_timeout: float = 60.0
    moodle_batch_size: int = 100
    moodle_max_workers: int = 4
    moodle_roles: str = "student=5,teacher=4,editingteacher=3,manager=1"
    moodle_hours_field: str = "credit_hours"
    moodle_namespace: str = ""
    secret_key: str = ""
    database_url: str = "sqlite:///instance/cadre.sqlite3"
    broker_url: str = "redis://127.0.0.1:6379/0"
    public_base_url: str = "http://127.0.0.1:5000"
    moodle_timezone: str = ""  # the site's timezone, where the service user has the server's ("99")
    harvest_report: str = ""  # name or id of the completion report; "" finds it by its columns
    harvest_activity_calls: int = 300  # at most this many per-cadre activity reads a harvest
    harvest_margin_hours: float = 26.0  # changed report rows are read from the last read's start less this
    harvest_whole_read_days: float = 7.0  # the completion report is read whole at least this often
    documents_templates: str = ""  # the organisation's copies of templates/documents; "" = the packaged ones
    documents_dir: str = "instance/documents"  # issued certificates, archives, forms and their ZIPs
    documents_workers: int = 0  # processes rendering PDFs in a batch; 0: one per CPU
    verify_rate_limit: str = "30/minute"  # per client IP on the public verification page
    ratelimit_storage: str = ""  # "" : the broker's Redis; "memory://" keeps counts per process
    trusted_proxies: int = 0  # reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted
    metrics_token: str = ""  # the bearer token /metrics asks for; "" : no metrics (404)
    log_format: str = "text"  # text, or json: one JSON object per line
    harvest_max_age_hours: float = 48.0  # /readyz fails when a year under way has no newer harvest
    offline_evidence_dir: str = ""  # claims' evidence files; "": <documents_dir>/offline-evidence (backed up)
    offline_evidence_max_mb: float = 10.0  # the largest evidence file a claim may carry

    SECRETS = ("moodle_token", "secret_key", "metrics_token")

    def role_ids(self) -> dict[str, int]:
        """Moodle role shortname -> id: web services cannot list roles, so the site's ids are set here."""
        roles: dict[str, int] = {}
        for item in self.moodle_roles.split(","):
            name, sep, value = item.partition("=")
            if not sep or not value.strip().isdigit():
                raise ConfigError(f"moodle_roles: {item!r} is not shortname=id "
                                  "(for example student=5,teacher=4)")
            roles[name.strip()] = int(value)
        return roles

    def __repr__(self) -> str:
        shown = []
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in self.SECRETS and value:
                value = "***"
            shown.append(f"{field.name}={value!r}")
        return f"Settings({', '.join(shown)})"


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Reads the config file (if ``CADRE_CONFIG`` names one), then ``CADRE_*`` variables, then overrides."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    path = env.get("CADRE_CONFIG")
    if path:
        values.update(_read_file(Path(path)))
    for field in fields(Settings):
        key = f"CADRE_{field.name.upper()}"
        if key in env:
            values[field.name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**{name: _typed(name, value) for name, value in values.items()})


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"CADRE_CONFIG names {path}, which does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    known = {field.name for field in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")
    return data


def _typed(name: str, value: Any) -> Any:
    kind = {field.name: field.type for field in fields(Settings)}.get(name)
    if kind is None:
        raise ConfigError(f"unknown setting {name!r}")
    try:
        if kind == "float":
            return float(value)
        if kind == "int":
            return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name} must be a {kind}, got {value!r}") from None
    return str(value)
