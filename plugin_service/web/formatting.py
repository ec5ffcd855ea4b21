"""How values read on the console's pages, in the reader's language: numbers, hours, shares, days and
times (stored as UTC, shown in the site's timezone), and the words for statuses and kinds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_translations,
    gettext,
    lazy_gettext,
)

from rules.study_time import describe
from rules.tiers import NOT_IN_POST
from rules.wording import translated

STATUS_WORDS = {
    "complete": lazy_gettext("complete"), "on_track": lazy_gettext("on track"),
    "behind": lazy_gettext("behind"), "excluded": lazy_gettext("not taking part"),
}
RUN_STATUS_WORDS = {
    "running": lazy_gettext("running"), "done": lazy_gettext("finished"), "failed": lazy_gettext("failed"),
    "interrupted": lazy_gettext("interrupted"), "queued": lazy_gettext("queued"),
}
JOB_KIND_WORDS = {
    "provision": lazy_gettext("Provisioning"), "apply": lazy_gettext("Provisioning"),
    "harvest": lazy_gettext("Harvest"), "engagement": lazy_gettext("Engagement"),
    "engage": lazy_gettext("Engagement"), "documents": lazy_gettext("Documents"),
    "certificates": lazy_gettext("Certificates"), "archives": lazy_gettext("Archives and forms"),
    "diff": lazy_gettext("Changes to apply"),
}
WHAT_WORDS = {
    "apply": lazy_gettext("apply the plan"), "full": lazy_gettext("full"),
    "incremental": lazy_gettext("incremental"), "daily": lazy_gettext("daily job"),
    "remind": lazy_gettext("reminders"), "announce": lazy_gettext("announcements"),
    "discussions": lazy_gettext("discussion topics"), "survey": lazy_gettext("survey"),
    "commend": lazy_gettext("commendation list"), "certificates": lazy_gettext("certificates"),
    "archives": lazy_gettext("archives and forms"), "bulletins": lazy_gettext("bulletins"),
}
COURSE_KIND_WORDS = {"required": lazy_gettext("required"), "elective": lazy_gettext("elective"),
                     "other": lazy_gettext("other")}
COURSE_STATE_WORDS = {"completed": lazy_gettext("completed"), "started": lazy_gettext("started"),
                      "not_started": lazy_gettext("not started")}
REFLECTION_WORDS = {"submitted": lazy_gettext("submitted"), "draft": lazy_gettext("draft"),
                    "new": lazy_gettext("not submitted"), "reopened": lazy_gettext("reopened"),
                    "missing": lazy_gettext("not submitted")}
CERTIFICATE_WORDS = {"valid": lazy_gettext("valid"), "superseded": lazy_gettext("superseded"),
                     "revoked": lazy_gettext("revoked")}
CLAIM_STATE_WORDS = {"submitted": lazy_gettext("awaiting a decision"), "approved": lazy_gettext("approved"),
                     "rejected": lazy_gettext("rejected")}
ROLE_WORDS = {"admin": lazy_gettext("administrator"), "officer": lazy_gettext("department officer"),
              "reviewer": lazy_gettext("reviewer")}
KEY_WORDS = {
    "step": lazy_gettext("step"), "items": lazy_gettext("items"), "calls": lazy_gettext("Moodle calls"),
    "rows": lazy_gettext("rows read"), "changes": lazy_gettext("changes"), "seconds": lazy_gettext("seconds"),
    "kind": lazy_gettext("operation"), "status": lazy_gettext("state"), "count": lazy_gettext("count"),
    "path": lazy_gettext("completion read by"), "attempts": lazy_gettext("attempts"),
    "today": lazy_gettext("statuses computed for"), "lang": lazy_gettext("language"),
    "tier": lazy_gettext("tier"),
    "zip": lazy_gettext("ZIP file"), "run_id": lazy_gettext("run"), "batch_id": lazy_gettext("batch"),
    "year": lazy_gettext("year"), "mode": lazy_gettext("mode"), "resumed": lazy_gettext("continued"),
    "counts": lazy_gettext("counts"), "total": lazy_gettext("total"), "notes": lazy_gettext("notes"),
    "value": lazy_gettext("value"), "bulletins": lazy_gettext("bulletins"),
}
FACT_WORDS = {"rank": lazy_gettext("rank"), "department_type": lazy_gettext("department type"),
              "status": lazy_gettext("employment status"), "gender": lazy_gettext("gender"),
              "department": lazy_gettext("department"), "position": lazy_gettext("position"),
              "employee_no": lazy_gettext("employee number")}


def number(value: Any, digits: int = 1) -> str:
    if value is None or value == "":
        return "–"
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return str(format_decimal(round(float(value), digits), format=pattern))


def hours(value: Any) -> str:
    return number(value, 2)


def percent(part: float, whole: float | None = None) -> str:
    share = part if whole is None else (part / whole if whole else None)
    if share is None:
        return "–"
    return str(format_percent(share, format="#,##0.#%"))


def day(value: dt.date | dt.datetime | str | None) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return str(format_date(value, format="medium"))  # a datetime is stored UTC: shown on its local day


def moment(value: dt.datetime | None) -> str:
    """A stored (naive UTC) time in the site's timezone."""
    if value is None:
        return "–"
    return str(format_datetime(value, format="yyyy-MM-dd HH:mm"))


def age(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "–"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return gettext("%(n)s min ago", n=max(minutes, 0))
    if minutes < 48 * 60:
        return gettext("%(n)s h ago", n=minutes // 60)
    return gettext("%(n)s days ago", n=minutes // (24 * 60))


def word(table: dict[str, Any], key: Any) -> str:
    return str(table.get(str(key), key if key is not None else "–"))


def complete_rows(lines: list[Any]) -> list[tuple[str, float, str]]:
    """Chart rows of report lines: the share complete, with "40% (4/10)" beside the bar."""
    return [(line.name or line.key or "–", 100.0 * line.complete_share,
             f"{percent(line.complete, line.cadres)} ({line.complete}/{line.cadres})") for line in lines]


def share_rows(lines: list[Any], part: str, whole: str) -> list[tuple[str, float, str]]:
    """Chart rows of ``part`` against ``whole`` of each line, in percent."""
    rows = []
    for line in lines:
        top, value = getattr(line, whole), getattr(line, part)
        rows.append((line.name or line.key or "–", 100.0 * value / top if top else 0.0,
                     f"{percent(value, top)} ({value}/{top})"))
    return rows


def rule_label(explanation: Any, rule: str) -> str:
    """A rule of ``rules.tiers.explain`` in the reader's words, with the plan's names."""
    if rule == "excluded":
        return gettext("exclusion rule")
    if rule == "not in post":
        return gettext("not in post (on leave or departed)")
    kind, _sep, _key = rule.partition(" ")
    name = dict(explanation.labels).get(rule, rule).split(" ", 2)[-1]
    return gettext("tier %(name)s", name=name) if kind == "tier" else gettext("class %(name)s", name=name)


ACTION_WORDS = {
    "console:login": lazy_gettext("sign-in"), "console:upload": lazy_gettext("roster and plan uploaded"),
    "console:apply": lazy_gettext("plan applied"), "roster:upload": lazy_gettext("roster uploaded (API)"),
    "settings:change": lazy_gettext("Moodle connection changed"),
    "settings:reset": lazy_gettext("Moodle connection set back to the environment's"),
    "api-token:make": lazy_gettext("API token created"),
    "api-token:revoke": lazy_gettext("API token revoked"),
    "certificate:issue": lazy_gettext("certificate issued"),
    "certificate:override": lazy_gettext("certificate issued by exception"),
    "certificate:revoke": lazy_gettext("certificate revoked"),
    "certificate:supersede": lazy_gettext("certificate superseded"),
    "user:add": lazy_gettext("console user added"),
    "user:passwd": lazy_gettext("console user's password set"),
    "user:change": lazy_gettext("console user changed"),
    "user:disable": lazy_gettext("console user disabled"),
    "user:enable": lazy_gettext("console user enabled"),
    "offline:training": lazy_gettext("offline training recorded"),
    "offline:attend": lazy_gettext("offline training attendees recorded"),
    "offline:unattend": lazy_gettext("offline training attendee removed"),
    "offline:training-delete": lazy_gettext("offline training deleted"),
    "offline:import": lazy_gettext("attendance sheet imported"),
    "offline:claim": lazy_gettext("offline hours claimed"),
    "offline:claim-approve": lazy_gettext("offline hours claim approved"),
    "offline:claim-reject": lazy_gettext("offline hours claim rejected"),
    "bulletin:issue": lazy_gettext("bulletin issued"),
    "bulletin:files": lazy_gettext("bulletin's files written"),
}


def action_word(action: str) -> str:
    """An audit log action in the reader's words; a Moodle write keeps its web-service function's name."""
    if action in ACTION_WORDS:
        return str(ACTION_WORDS[action])
    kind, _sep, rest = action.partition(":")
    if kind == "moodle":
        return gettext("Moodle: %(function)s", function=rest)
    if kind == "documents":
        return gettext("documents: %(kind)s", kind=word(JOB_KIND_WORDS, rest))
    if action.startswith("console:queue:"):
        queued = action.removeprefix("console:queue:")
        return gettext("job queued: %(kind)s", kind=word(JOB_KIND_WORDS, queued))
    return action


OUTCOME_WORDS = {"ok": lazy_gettext("ok"), "failed": lazy_gettext("failed"),
                 "unknown": lazy_gettext("unknown")}


def exclusion_word(reason: str | None) -> str:
    """Why a cadre takes no part in a year (``Membership.excluded``): the roster's status when they are not
    in post, else the plan's exclusion rule or no matching tier."""
    if not reason:
        return "–"
    if reason in NOT_IN_POST:
        return reason
    if reason == "no tier matches":
        return gettext("matches no tier of the plan")
    return gettext("excluded by the plan's exclusion rule")


def say(text: object) -> str:
    """A sentence of the rules or the services (``rules.wording.Sentence``) in the reader's language;
    any other text as it is."""
    return translated(text, get_translations().gettext)


def study(seconds: float | None) -> str:
    """A study time in hours and minutes in the reader's language; "not tracked" for None."""
    return say(describe(seconds))


def install(app: Flask) -> None:
    app.jinja_env.filters.update(number=number, hours=hours, day=day, moment=moment, age=age, say=say,
                                 study=study)
    app.jinja_env.globals.update(
        percent=percent, complete_rows=complete_rows, share_rows=share_rows, rule_label=rule_label,
        key_word=lambda key: word(KEY_WORDS, key), status_word=lambda key: word(STATUS_WORDS, key),
        run_status_word=lambda key: word(RUN_STATUS_WORDS, key),
        job_kind_word=lambda key: word(JOB_KIND_WORDS, key), what_word=lambda key: word(WHAT_WORDS, key),
        course_kind_word=lambda key: word(COURSE_KIND_WORDS, key),
        course_state_word=lambda key: word(COURSE_STATE_WORDS, key),
        reflection_word=lambda key: word(REFLECTION_WORDS, key),
        certificate_word=lambda key: word(CERTIFICATE_WORDS, key),
        claim_state_word=lambda key: word(CLAIM_STATE_WORDS, key),
        role_word=lambda key: word(ROLE_WORDS, key), fact_word=lambda key: word(FACT_WORDS, key),
        exclusion_word=exclusion_word, action_word=action_word,
        outcome_word=lambda key: word(OUTCOME_WORDS, key))
