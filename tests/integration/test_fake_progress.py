"""The fake Moodle's simulated cohort progress, read back through every web service a harvest uses."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.fake import FakeSite, RunningFake, stock_site
from moodle_bridge.fake.db import Table
from moodle_bridge.fake.seed import (
    COMPLETION_COLUMNS,
    SURVEY_ITEMS,
    add_completion_report,
    add_scorm,
    seed_population,
    seed_site,
)
from moodle_bridge.fake.text import Userdates, count_letters, userdate
from tests.factories import EDITINGTEACHER, add_page, enrol, numbered_user, training_course

pytestmark = pytest.mark.integration
DAY = 86400
NOW = 1_795_000_000  # 2026-11-18
START, END = NOW - 120 * DAY, NOW - DAY
CATEGORY = "generated-2026"


def populate(site: FakeSite, learners: int = 40, courses: int = 3) -> list[int]:
    """Learners enrolled in generated courses (page criterion, forum, assignment); the course ids."""
    site.clock.set(NOW, frozen=True)
    seed_population(site, learners=learners, courses=courses, completion_rate=0, assignment_every=1)
    category = site.db["course_categories"].first(idnumber=CATEGORY)
    assert category is not None
    return [int(course["id"]) for course in site.db["course"].select(category=category["id"])]


def simulate(site: FakeSite, **args: Any) -> dict[str, Any]:
    answer: dict[str, Any] = site.site_action("simulate_progress", {
        "category_idnumber": CATEGORY, "seed": 7, "start": START, "end": END, **args})
    return answer


@pytest.fixture
def cohort(fake: RunningFake) -> dict[str, Any]:
    """40 learners in 3 courses, a teacher in the first, progress simulated with a discussion."""
    site = fake.site
    courses = populate(site)
    teacher = numbered_user(site, 900)
    enrol(site, teacher, courses[0], EDITINGTEACHER)
    discussion = {"courseid": courses[0], "subject": "专题研讨 Discussion", "opens": NOW - 60 * DAY,
                  "closes": NOW - 30 * DAY}
    truth = simulate(site, discussions=[discussion])
    return {"courses": courses, "teacher": teacher, "truth": truth, "discussion": discussion}


def test_the_same_seed_gives_the_same_cohort(cohort: dict[str, Any]) -> None:
    again = stock_site()
    populate(again)
    teacher = numbered_user(again, 900)
    enrol(again, teacher, cohort["courses"][0], EDITINGTEACHER)
    assert simulate(again, discussions=[cohort["discussion"]]) == cohort["truth"]
    other = stock_site()
    populate(other)
    assert simulate(other, seed=8)["outcomes"] != cohort["truth"]["outcomes"]


def test_outcomes_are_drawn_at_the_given_rates_inside_the_window(cohort: dict[str, Any]) -> None:
    truth = cohort["truth"]
    counts = truth["counts"]
    assert truth["window"] == {"start": START, "end": END}
    assert counts["learners"] == 120 == len(truth["outcomes"])
    drawn = Counter(row["outcome"] for row in truth["outcomes"])
    assert drawn == Counter({key: counts[key] for key in ("not_started", "started", "completed")})
    assert 0.1 < drawn["not_started"] / 120 < 0.4 and 0.3 < drawn["completed"] / 120 < 0.6
    for row in truth["outcomes"]:
        if row["outcome"] == "not_started":
            assert row["timestarted"] is row["timecompleted"] is row["lastaccess"] is None
        elif row["outcome"] == "started":
            assert row["timecompleted"] is None and START <= row["timestarted"] <= row["lastaccess"]
        else:
            assert START <= row["timestarted"] <= row["timecompleted"] <= END
            assert row["timecompleted"] <= row["lastaccess"]


def test_rates_can_be_overridden() -> None:
    site = stock_site()
    populate(site, learners=10, courses=2)
    everyone = simulate(site, rates={"not_started": 0, "started": 0, "completed": 1})
    assert everyone["counts"]["completed"] == 20
    with pytest.raises(ValueError):
        simulate(site, rates={"finished": 1})
    with pytest.raises(ValueError):
        site.site_action("simulate_progress", {"courseids": [999999]})


def test_completion_reads_the_same_through_every_function(fake: RunningFake, client: MoodleClient,
                                                          cohort: dict[str, Any]) -> None:
    site = fake.site
    courseid = cohort["courses"][0]
    truth = [row for row in cohort["truth"]["outcomes"] if row["courseid"] == courseid]
    statuses = client.core_completion.course_completion_statuses(courseid, [row["userid"] for row in truth])
    assert statuses.completed() == {row["userid"] for row in truth if row["outcome"] == "completed"}
    for row in truth:
        if row["outcome"] == "completed":
            assert statuses.statuses[row["userid"]].timecompleted == row["timecompleted"]
    enrolled = {user.id: user for user in client.core_enrol.get_enrolled_users(courseid)}
    for row in truth:
        assert enrolled[row["userid"]].lastcourseaccess == (row["lastaccess"] or 0)

    reportid = add_completion_report(site)
    rows = list(client.core_reportbuilder.iter_report_rows(reportid, perpage=50))
    assert len(rows) == cohort["truth"]["counts"]["learners"] + 1  # and the teacher
    shown = {(row.get("Course ID number"), row.get("Username")): row for row in rows}
    idnumber = str(site.db["course"].get(courseid)["idnumber"])  # type: ignore[index]
    for row in truth:
        username = str(site.db["user"].get(row["userid"])["username"])  # type: ignore[index]
        cells = shown[(idnumber, username)]
        expected = {"not_started": "", "started": "No", "completed": "Yes"}[row["outcome"]]
        assert cells.get("Completed") == expected
        for header, key in (("Time completed", "timecompleted"), ("Time started", "timestarted"),
                            ("Last access to course", "lastaccess")):
            assert cells.get(header) == (userdate(row[key]) if row[key] else "")


def test_reflections_are_written_graded_and_regraded(fake: RunningFake, client: MoodleClient,
                                                     cohort: dict[str, Any]) -> None:
    site = fake.site
    truth = cohort["truth"]
    submissions = truth["submissions"]
    completed = {(row["userid"], row["courseid"]) for row in truth["outcomes"]
                 if row["outcome"] == "completed"}
    assert submissions and all((entry["userid"], entry["courseid"]) in completed for entry in submissions)
    assignids = sorted({entry["assignid"] for entry in submissions})
    answer = client.mod_assign.get_submissions(assignids)
    read = {(s.userid, batch.assignmentid): s for batch in answer.assignments for s in batch.submissions}
    for entry in submissions:
        submission = read[(entry["userid"], entry["assignid"])]
        assert submission.status == entry["status"] and submission.timemodified == entry["timemodified"]
        assert count_letters(submission.onlinetext or "") == entry["chars"]
        assert entry["short"] == (0 < entry["chars"] < 800)
    submitted = [entry for entry in submissions if entry["status"] == "submitted"]
    assert {entry["short"] for entry in submitted} == {True, False}
    assert any(entry["status"] == "new" for entry in submissions)  # opened and left

    graded = [entry for entry in submitted if entry["grade"] is not None]
    assert 0 < len(graded) < len(submitted) and any(entry["regraded"] for entry in graded)
    answered = client.mod_assign.get_grades(assignids).assignments
    grades = {(g.userid, batch.assignmentid): g for batch in answered for g in batch.grades}
    for entry in graded:
        grade = grades[(entry["userid"], entry["assignid"])]
        assert grade.value == pytest.approx(entry["grade"]) and grade.timemodified == entry["timegraded"]
        assert grade.grader == (cohort["teacher"] if entry["courseid"] == cohort["courses"][0] else 2)
    report = client.gradereport_user.get_grade_items(cohort["courses"][0])
    for entry in graded:
        if entry["courseid"] == cohort["courses"][0]:
            person = report.for_user(entry["userid"])
            assert person is not None
            item = person.item_for_cm(entry["cmid"])
            assert item is not None and item.graderaw == pytest.approx(entry["grade"])
    latest = max(entry["timegraded"] for entry in graded)
    recent = client.mod_assign.get_grades(assignids, since=latest)
    assert [g.timemodified for batch in recent.assignments for g in batch.grades] == [latest]
    assert site.db["assign_grades"].count() >= len(graded)


def test_drafts_where_the_assignment_asks_for_a_submit_click() -> None:
    site = stock_site()
    populate(site, learners=30, courses=1)
    for assign in site.db["assign"]:
        site.db["assign"].update(assign, submissiondrafts=1)
    truth = simulate(site, rates={"completed": 1, "started": 0, "not_started": 0})
    statuses = Counter(entry["status"] for entry in truth["submissions"])
    assert statuses["draft"] == truth["counts"]["draft"] > 0 and statuses["submitted"] > 0
    assert "new" not in statuses
    drafts = [entry for entry in truth["submissions"] if entry["status"] == "draft"]
    assert all(entry["grade"] is None and entry["chars"] > 0 for entry in drafts)


def test_discussion_posts_spread_around_its_dates(fake: RunningFake, client: MoodleClient,
                                                  cohort: dict[str, Any]) -> None:
    [discussion] = cohort["truth"]["discussions"]
    spec = cohort["discussion"]
    assert discussion["created"] and discussion["subject"] == spec["subject"]
    posts = client.mod_forum.get_discussion_posts(discussion["discussionid"]).posts
    first = [post for post in posts if not post.hasparent]
    assert [post.timecreated for post in first] == [spec["opens"]] and first[0].author.id == 2
    replies: dict[int, list[int]] = {}
    for post in posts:
        if post.hasparent and post.author.id is not None:
            replies.setdefault(post.author.id, []).append(post.timecreated)
    expected = {entry["userid"]: entry["times"] for entry in discussion["posts"]}
    assert {user: sorted(times) for user, times in replies.items()} == expected
    times = [when for entry in discussion["posts"] for when in entry["times"]]
    assert all(spec["opens"] - 10 * DAY <= when <= spec["closes"] + 10 * DAY for when in times)
    assert any(when < spec["opens"] or when > spec["closes"] for when in times)
    assert max(len(entry["times"]) for entry in discussion["posts"]) <= 8
    not_started = {row["userid"] for row in cohort["truth"]["outcomes"]
                   if row["courseid"] == spec["courseid"] and row["outcome"] == "not_started"}
    assert not not_started & set(expected)

    again = fake.site.site_action("simulate_progress", {"courseids": [spec["courseid"]], "seed": 1,
                                                        "start": START, "end": END, "discussions": [spec]})
    assert again["discussions"][0]["discussionid"] == discussion["discussionid"]
    assert not again["discussions"][0]["created"]


def test_a_reset_course_completes_again_later(fake: RunningFake, client: MoodleClient) -> None:
    site = fake.site
    courseid = training_course(site, "it-prog-C1", idnumber="it-prog-CRS1")
    page = add_page(site, courseid)
    userid = numbered_user(site, 1)
    enrol(site, userid, courseid)
    site.site_action("set_completion_criteria", {"courseid": courseid, "cmids": [page]})
    first = NOW - 30 * DAY
    site.clock.set(first, frozen=True)
    site.site_action("complete_activity", {"userid": userid, "cmid": page})
    assert client.core_completion.get_course_completion_status(courseid, userid).timecompleted == first
    site.site_action("reset_course_completion", {"userid": userid, "courseid": courseid})
    assert not client.core_completion.get_course_completion_status(courseid, userid).completed
    second = NOW - 10 * DAY
    site.clock.set(second, frozen=True)
    answer = site.site_action("complete_activity", {"userid": userid, "cmid": page})
    assert answer["course_completions"]["timecompleted"] == str(second)
    assert answer["cmc"]["timemodified"] == str(first)  # the activity stays done since the first time
    assert client.core_completion.get_course_completion_status(courseid, userid).timecompleted == second
    reportid = add_completion_report(site)
    row = next(r for r in client.core_reportbuilder.iter_report_rows(reportid) if r.get("Username"))
    assert row.get("Time completed") == userdate(second)
    again = site.site_action("complete_activity", {"userid": userid, "cmid": page})
    assert again["course_completions"]["timecompleted"] == str(second)  # complete stays complete


def test_a_regrade_is_the_grade_read_and_since_finds_it(fake: RunningFake, client: MoodleClient) -> None:
    site = fake.site
    courses = populate(site, learners=3, courses=1)
    cm = site.db["course_modules"].first(course=courses[0], modname="assign")
    assert cm is not None
    userid = int(site.db["user"].first(username="learner000001")["id"])  # type: ignore[index]
    site.clock.set(NOW - 20 * DAY, frozen=True)
    site.site_action("assign_submit", {"userid": userid, "cmid": cm["id"], "text": "<p>学习体会</p>"})
    site.clock.set(NOW - 10 * DAY, frozen=True)
    site.site_action("assign_grade", {"teacherid": 2, "userid": userid, "cmid": cm["id"], "grade": 60,
                                      "feedback": "请补充案例。"})
    site.clock.set(NOW - 5 * DAY, frozen=True)
    site.site_action("assign_grade", {"teacherid": 2, "userid": userid, "cmid": cm["id"], "grade": 85,
                                      "feedback": "修改后很好。"})
    [batch] = client.mod_assign.get_grades([cm["instance"]]).assignments
    [grade] = batch.grades
    assert (grade.value, grade.timemodified) == (85.0, NOW - 5 * DAY)
    [recent] = client.mod_assign.get_grades([cm["instance"]], since=NOW - 5 * DAY).assignments
    assert [g.value for g in recent.grades] == [85.0]
    assert not client.mod_assign.get_grades([cm["instance"]], since=NOW - 5 * DAY + 1).assignments
    items = client.gradereport_user.get_grade_items(courses[0], userid)
    person = items.for_user(userid)
    assert person is not None
    item = person.item_for_cm(cm["id"])
    assert item is not None and (item.graderaw, item.gradedategraded) == (85.0, NOW - 5 * DAY)


def test_the_demo_site_has_the_completion_export_report(fake: RunningFake, client: MoodleClient) -> None:
    seed_site(fake.site, "demo")
    [report] = [r for r in client.core_reportbuilder.iter_reports() if r.name == "Course completion export"]
    assert report.sourcename == "Course participants"
    assert report.conditions == {"user:username_operator": 8, "user:username_value": ""}
    page = client.core_reportbuilder.retrieve_report(report.id, 0, 5)
    assert page.headers == ("Course ID number", "ID number", "Username", "Completed", "Time completed",
                            "Time started", "Last access to course")
    columns = fake.site.db["reportbuilder_column"].select(reportid=report.id)
    assert tuple(row["uniqueidentifier"] for row in columns) == COLUMNS_IN_ORDER == COMPLETION_COLUMNS
    assert fake.site.db["reportbuilder_report"].get(report.id)["audience"] == [3]  # type: ignore[index]
    assert add_completion_report(fake.site) != report.id


COLUMNS_IN_ORDER = ("course:idnumber", "user:idnumber", "user:username", "completion:completed",
                    "completion:timecompleted", "completion:timestarted", "access:timeaccess")


def test_opening_a_course_records_the_last_access(fake: RunningFake, client: MoodleClient) -> None:
    site = fake.site
    courseid = training_course(site, "it-prog-C2")
    userid, outsider = numbered_user(site, 1), numbered_user(site, 2)
    enrol(site, userid, courseid)
    site.clock.set(NOW, frozen=True)
    assert site.site_action("view_course", {"userid": userid, "courseid": courseid})["timeaccess"] == NOW
    [user] = client.core_enrol.get_enrolled_users(courseid)
    assert (user.lastcourseaccess, user.lastaccess) == (NOW, NOW)
    with pytest.raises(ValueError):
        site.site_action("view_course", {"userid": outsider, "courseid": courseid})


def test_indexed_lookups_find_what_a_scan_finds() -> None:
    """Lookups on one or several fields, through inserts, updates and deletes."""
    rng = random.Random(5)
    table = Table("t")
    fields = ("a", "b", "c")

    def scan(**conditions: Any) -> list[dict[str, Any]]:
        return [row for row in table if all(row.get(f) == v for f, v in conditions.items())]

    for _step in range(3000):
        draw = rng.random()
        if draw < 0.4 or not table.rows:
            table.insert({field: rng.randint(0, 3) for field in fields if rng.random() < 0.9})
        elif draw < 0.6:
            table.update(table.rows[rng.choice(list(table.rows))], **{rng.choice(fields): rng.randint(0, 3)})
        elif draw < 0.7:
            table.delete(table.rows[rng.choice(list(table.rows))])
        else:
            conditions = {f: rng.choice([0, 1, 2, 3, None]) for f in rng.sample(fields, rng.randint(1, 3))}
            expected = scan(**conditions)
            assert table.select(**conditions) == expected
            assert table.first(**conditions) is (expected[0] if expected else None)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "Europe/London", "Australia/Lord_Howe",
                                  "Asia/Kathmandu"])
def test_report_dates_are_userdates(zone: str) -> None:
    tz = UTC if zone == "UTC" else ZoneInfo(zone)
    dates = Userdates(tz)
    rng = random.Random(zone)
    moments = [rng.randint(-1_000_000_000, 3_000_000_000) for _ in range(3000)]
    moments += list(range(1_711_800_000, 1_712_000_000, 997))  # across the spring 2024 changes
    assert [dates(moment) for moment in moments] == [userdate(moment, tz) for moment in moments]


def test_learners_who_started_a_course_answer_its_survey(client: MoodleClient, fake: RunningFake) -> None:
    site = fake.site
    with site.lock:
        courseids = populate(site, learners=30, courses=1)
        made = site.site_action("create_feedback", {"courseid": courseids[0], "name": "培训需求调查",
                                                    "items": SURVEY_ITEMS})
        answer = simulate(site, surveys=[{"courseid": courseids[0], "share": 0.8}])
    started = sum(1 for o in answer["outcomes"] if o["outcome"] != "not_started")
    assert 0 < answer["counts"]["survey_answers"] <= started
    responses = client.mod_feedback.get_responses_analysis(made["instance"], perpage=0).attempts
    assert len(responses) == answer["counts"]["survey_answers"]
    topics = {choice for attempt in responses for r in attempt.responses if r.name.startswith("希望增加")
              for choice in r.printval.split("; ")}
    assert topics <= set(str(SURVEY_ITEMS[0]["presentation"]).split(">>>>>")[1].split("|"))
    again = simulate(site, surveys=[{"courseid": courseids[0], "share": 1.0}])
    assert again["counts"]["survey_answers"] <= started - len(responses)  # nobody answers twice


def test_a_copied_course_keeps_its_surveys_questions(client: MoodleClient, fake: RunningFake) -> None:
    site = fake.site
    with site.lock:
        courseids = populate(site, learners=1, courses=1)
        made = site.site_action("create_feedback", {"courseid": courseids[0], "name": "培训需求调查",
                                                    "items": SURVEY_ITEMS})
    source = site.db["course"].get(courseids[0])
    assert source is not None
    copy = client.core_course.duplicate_course(courseids[0], "复制的课程", "COPY-1", source["category"],
                                               options={"users": 0})
    copied = client.mod_feedback.get_feedbacks_by_courses([copy.id]).feedbacks
    assert [f.name for f in copied] == ["培训需求调查"]
    def questions(feedbackid: int) -> list[tuple[str, str, str]]:
        return [(i.name, i.typ, i.presentation) for i in client.mod_feedback.get_items(feedbackid).items]

    assert questions(copied[0].id) == questions(made["instance"]) and len(questions(copied[0].id)) == 3


def _year_site() -> tuple[FakeSite, dict[str, Any]]:
    """The cohort's courses with courseware in the second, a teacher, a survey and a discussion in the
    first."""
    site = stock_site()
    courses = populate(site)
    add_scorm(site, courses[1], {"name": "课件 Courseware", "scoes": ["第一讲", "第二讲"]})
    site.site_action("create_feedback",
                     {"courseid": courses[0], "name": "培训需求调查", "items": SURVEY_ITEMS})
    enrol(site, numbered_user(site, 900), courses[0], EDITINGTEACHER)
    discussion = {"courseid": courses[0], "subject": "专题研讨 Discussion", "opens": NOW - 60 * DAY,
                  "closes": NOW - 30 * DAY}
    return site, {"discussions": [discussion], "surveys": [{"courseid": courses[0], "share": 0.8}],
                  "ground_truth": False}


def _held(site: FakeSite) -> dict[str, Counter[tuple[Any, ...]]]:
    """What the site holds of the learners' year, without row ids (parts insert rows in another order)."""
    tables = ("course_completions", "course_modules_completion", "user_lastaccess", "assign_submission",
              "assign_grades", "forum_discussions", "feedback_completed", "scorm_attempt",
              "scorm_scoes_value")
    held = {}
    for name in tables:
        assert name in site.db.tables, name
        held[name] = Counter(tuple(sorted((key, repr(value)) for key, value in row.items()
                                          if key not in ("id", "attemptid", "grade_id", "completed")))
                             for row in site.db[name].select())
    held["forum_posts"] = Counter((row["userid"], row["created"], row["message"])
                                  for row in site.db["forum_posts"].select())
    return held


def test_a_year_replayed_in_parts_is_the_year_replayed_at_once() -> None:
    whole, args = _year_site()
    at_once = simulate(whole, **args)
    parted, args = _year_site()
    cuts = (START + 40 * DAY, NOW - 45 * DAY)  # the second cut falls inside the discussion's window
    first = simulate(parted, **args, until=cuts[0])
    second = simulate(parted, **args, after=cuts[0], until=cuts[1])
    last = simulate(parted, **args, after=cuts[1])
    assert _held(parted) == _held(whole)
    parts = (first["counts"], second["counts"], last["counts"])
    for key in ("submitted", "graded", "regraded", "posts", "survey_answers", "scorm_sessions"):
        assert sum(part[key] for part in parts) == at_once["counts"][key] > 0, key
    assert last["counts"]["completed"] == at_once["counts"]["completed"]  # as the year stands at its end
    assert first["counts"]["completed"] < second["counts"]["completed"] < last["counts"]["completed"]
    assert first["counts"]["learners"] == at_once["counts"]["learners"] == 120
