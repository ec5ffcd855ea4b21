"""Deterministic content for a fake site: the demo's course library, or a generated population.

``demo`` builds what a college's content team keeps in Moodle: a course library category holding one
template course per catalogue course (material page with manual completion as the completion criterion,
a discussion forum, an online-text assignment where the course carries a written reflection, a
feedback survey in one of them, SCORM courseware that tracks study time in some of them and none in
the others). A number ``N`` generates N learners, courses with the same structure,
enrolments and progress, always the same for the same N and seed. It uses the site's own functions and
site actions, so seeded data is exactly what a web-service client would have produced.
"""

from __future__ import annotations

import json
import random
from importlib import resources
from typing import Any

from .functions.core_reportbuilder import PARTICIPANTS
from .site import FakeSite

ADMIN = 2
COMPLETION_REPORT = "Course completion export"
COMPLETION_COLUMNS = ("course:idnumber", "user:idnumber", "user:username", "completion:completed",
                      "completion:timecompleted", "completion:timestarted", "access:timeaccess")
TEXT_NOT_EMPTY = 8


def demo_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("data/demo-site.json").read_text("utf-8"))
    return data


def seed_site(site: FakeSite, spec: str | int, *, seed: int = 2026) -> str:
    """Seeds ``site`` from ``'demo'`` or a learner count; returns a one-line summary."""
    if str(spec) == "demo":
        templates = seed_course_library(site)
        add_completion_report(site)
        return f"course library with {len(templates)} template courses and a completion report"
    try:
        count = int(spec)
    except ValueError:
        raise ValueError(f"--seed takes 'demo' or a number of learners, not {spec!r}") from None
    population = seed_population(site, learners=count, courses=max(1, min(20, count // 25)), seed=seed)
    return (f"{population['learners']} learners, {population['courses']} courses, "
            f"{population['enrolments']} enrolments, {population['completions']} completions")


def add_completion_report(site: FakeSite) -> int:
    """The custom report an admin makes for completion exports; returns its id.

    "Course completion export" on the Course participants source, with the columns a harvest reads
    and the condition that drops the rows of enrolment methods nobody uses; its audience is the token
    users who may view reports (the service user; ``wsbot`` on a site without tokens).
    """
    audience = sorted({userid for userid, _service in site.tokens.values()
                       if site.has_capability(userid, "moodle/reportbuilder:view")})
    if not audience:
        service_user = site.db["user"].first(username="wsbot")
        audience = [service_user["id"]] if service_user is not None else []
    report = site.site_action("create_report", {
        "name": COMPLETION_REPORT, "source": PARTICIPANTS, "columns": list(COMPLETION_COLUMNS),
        "conditions": [{"uniqueidentifier": "user:username", "operator": TEXT_NOT_EMPTY}],
        "userid": ADMIN})
    reportid = int(report["reportid"])
    site.site_action("set_report_audience", {"reportid": reportid, "userids": audience})
    return reportid


#: The training-needs survey of the template course: topics (several may be chosen), the preferred form
#: of study, and free suggestions.
SURVEY_ITEMS: list[dict[str, Any]] = [
    {"name": "希望增加的培训内容（可多选） Topics wanted", "label": "topics", "typ": "multichoice",
     "presentation": "c>>>>>党的创新理论|职业教育政策|管理与领导能力|数字化能力|公文写作|心理健康与压力管理",
     "required": 1},
    {"name": "希望的学习形式 Preferred form", "label": "form", "typ": "multichoice",
     "presentation": "r>>>>>线上自学|线上直播|线下集中培训|线上线下混合", "required": 1},
    {"name": "其他意见和建议 Suggestions", "label": "suggestions", "typ": "textarea", "presentation": "30|5",
     "required": 0},
]


def seed_course_library(site: FakeSite) -> list[dict[str, Any]]:
    """The course library category with the demo's template courses; returns the created courses."""
    data = demo_data()
    for field in data["course_customfields"]:
        site.site_action("create_course_customfield", field)
    library = site.invoke("core_course_create_categories", {"categories": [
        {"name": data["library"]["name"], "idnumber": data["library"]["idnumber"], "parent": 0}]},
        userid=ADMIN)[0]
    created = []
    for template in data["templates"]:
        created.append(_structured_course(site, library["id"], template["shortname"],
                                          template["fullname"],
                                          assignment=bool(template.get("assignment")),
                                          survey=bool(template.get("survey")), scorm=template.get("scorm")))
    return created


def _structured_course(site: FakeSite, categoryid: int, shortname: str, fullname: str, *,
                       assignment: bool, survey: bool, idnumber: str = "",
                       scorm: dict[str, Any] | None = None) -> dict[str, Any]:
    course = site.invoke("core_course_create_courses", {"courses": [{
        "fullname": fullname, "shortname": shortname, "categoryid": categoryid, "idnumber": idnumber,
        "enablecompletion": 1, "summary": fullname}]}, userid=ADMIN)[0]
    modules = site.site_action("create_activities", {"courseid": course["id"], "prefix": shortname,
                                                     "only_page": False,
                                                     "assignment": assignment})
    site.site_action("set_completion_criteria", {"courseid": course["id"],
                                                 "cmids": [modules["page"]["cmid"]]})
    if survey:
        site.site_action("create_feedback", {"courseid": course["id"],
                                             "name": "培训需求调查 Training needs", "items": SURVEY_ITEMS})
    if scorm:
        modules["scorm"] = add_scorm(site, course["id"], scorm)
    return {"id": course["id"], "shortname": shortname, "modules": modules}


def add_scorm(site: FakeSite, courseid: int, spec: dict[str, Any]) -> dict[str, Any]:
    """A SCORM package in a course (``{"name", "version", "scoes": [titles]}``), in its first section."""
    return dict(site.site_action("create_scorm", {"courseid": courseid, "name": spec["name"],
                                                  "version": spec.get("version", "SCORM_12"),
                                                  "scoes": list(spec.get("scoes") or [spec["name"]]),
                                                  "section": 1}))


def seed_population(site: FakeSite, *, learners: int, courses: int, seed: int = 2026,
                    completion_rate: float = 0.6, assignment_every: int = 4) -> dict[str, int]:
    """N learners enrolled in every generated course, some of whom completed some courses.

    Every ``assignment_every``-th course (the first included) has an assignment; ``completion_rate`` 0
    leaves the progress to ``simulate_progress``."""
    rng = random.Random(seed)
    data = demo_data()
    surnames, given = data["surnames"], data["given"]
    category = site.invoke("core_course_create_categories", {"categories": [
        {"name": f"Generated {seed}", "idnumber": f"generated-{seed}", "parent": 0}]},
        userid=ADMIN)[0]
    userids: list[int] = []
    for start in range(0, learners, 500):
        batch = []
        for number in range(start + 1, min(learners, start + 500) + 1):
            batch.append({"username": f"learner{number:06d}", "password": "Learner-2026!",
                          "firstname": rng.choice(given) + rng.choice(given),
                          "lastname": rng.choice(surnames), "idnumber": f"L{number:06d}",
                          "email": f"learner{number:06d}@example.edu"})
        userids.extend(u["id"] for u in site.invoke("core_user_create_users", {"users": batch},
                                                    userid=ADMIN))
    enrolments = completions = 0
    for index in range(courses):
        shortname = f"GEN-{seed}-{index + 1:03d}"
        course = _structured_course(site, category["id"], shortname, f"Generated course {index + 1}",
                                    idnumber=shortname,
                                    assignment=assignment_every > 0 and index % assignment_every == 0,
                                    survey=False)
        for start in range(0, len(userids), 1000):
            chunk = userids[start:start + 1000]
            site.invoke("enrol_manual_enrol_users", {"enrolments": [
                {"roleid": 5, "userid": userid, "courseid": course["id"]} for userid in chunk]},
                userid=ADMIN)
            enrolments += len(chunk)
        page_cmid = course["modules"]["page"]["cmid"]
        for userid in userids:
            if rng.random() < completion_rate:
                site.site_action("complete_activity", {"userid": userid, "cmid": page_cmid})
                completions += 1
    return {"learners": len(userids), "courses": courses, "enrolments": enrolments,
            "completions": completions}
