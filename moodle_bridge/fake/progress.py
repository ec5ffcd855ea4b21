"""A cohort's year in a few courses: who never started, who started, who completed, what they wrote and
posted and how their teachers graded it, replayed on the site at the times it happened.

The ``simulate_progress`` site action draws every learner's outcome per course from a seed and replays it
through the fake's own completion, assignment, forum and access logic with the site clock held at each
event's time, so every web service (completion status, the report builder, grades, submissions, posts,
last course access) answers consistently about it. It answers with counts and with the ground truth a
test compares a harvest against.

A year may be replayed in parts, as it is lived between harvests: the same seed and window with ``until``
replays only what happened by then, and a later call with ``after`` set to it replays what followed. The
draws never depend on what the site already holds, so the parts add up to the year replayed at once.
"""

from __future__ import annotations

import gc
import random
from typing import Any

from .access import course_context, course_roles, enrolled_users
from .activities import assign_setting
from .assignments import user_submission
from .completion import (
    COMPLETION_COMPLETE,
    CRITERIA_ACTIVITY,
    course_activities,
    criteria,
    ensure_course_completion,
    mark_course_complete,
    review_activity_criteria,
    update_state,
)
from .courses import log_course_access
from .db import Row
from .functions.mod_assign import assign_grade, assign_submit
from .functions.mod_feedback import feedback_respond
from .functions.mod_forum import add_reply, forum_add_discussion
from .functions.mod_scorm import scoes, scorm_session
from .registry import site_action
from .site import FakeSite

DAY = 86400
DEFAULT_WINDOW_DAYS = 120
DEFAULT_RATES = {"not_started": 0.25, "started": 0.30, "completed": 0.45}
OUTCOMES = ("not_started", "started", "completed")
STUDENT, EDITINGTEACHER, TEACHER = 5, 3, 4
ADMIN = 2
# What a learner who completed a course does with its reflection assignment.
SUBMIT_SHARE, UNFINISHED_SHARE = 0.70, 0.15
GRADED_SHARE, REGRADED_SHARE = 0.60, 0.10
# Replies per learner to a discussion: 0 to 8, fewer more often.
REPLY_WEIGHTS = (35, 20, 14, 10, 8, 5, 4, 2, 2)
POST_MARGIN = 10 * DAY

_SENTENCES = (
    "通过这次培训，我对新时代人才队伍建设有了更加深刻的认识。",
    "课程内容紧密联系工作实际，案例分析让人受益匪浅。",
    "我深刻体会到理论学习必须与岗位实践相结合。",
    "在今后的工作中，我将进一步增强责任意识和担当精神。",
    "老师的讲解深入浅出，使我对政策法规的理解更加透彻。",
    "小组讨论中同事们的经验分享给了我很多启发。",
    "基层治理需要耐心细致，更需要科学的方法和坚定的信念。",
    "学习让我看到了自身在统筹协调方面的不足。",
    "我计划把所学内容运用到部门的日常管理之中。",
    "坚持以人民为中心，是做好一切工作的出发点和落脚点。",
    "培训期间的专题讲座拓宽了我的视野，提升了我的站位。",
    "面对新形势新任务，我们必须不断更新知识结构。",
    "调查研究是谋事之基、成事之道，要多到一线去听取意见。",
    "廉洁自律是立身之本，必须时刻警钟长鸣。",
    "我将以这次学习为契机，努力提高服务群众的本领。",
    "数字化转型对公共管理提出了新的要求，也带来了新的机遇。",
    "通过案例复盘，我认识到风险防范要关口前移。",
    "团队协作和有效沟通是完成复杂任务的重要保障。",
    "要把学习成果转化为推动工作的实际举措和具体成效。",
    "回顾整个学习过程，收获很多，也留下了值得继续思考的问题。",
)
_COMMENTS = ("内容充实，结合实际，继续保持。", "思考较深入，建议补充具体案例。",
             "结构清晰，个别观点还可展开。", "体会真切，请进一步提炼工作举措。")


def _corpus() -> str:
    """Reflection prose to cut texts of any length from (deterministic, no white space)."""
    order = random.Random(7).sample(_SENTENCES * 12, len(_SENTENCES) * 12)
    return "".join(order)


_CORPUS = _corpus()


def chinese_text(rng: random.Random, letters: int) -> str:
    """HTML paragraphs holding exactly ``letters`` characters (Moodle's ``count_letters``)."""
    corpus = _CORPUS
    start = rng.randrange(len(corpus))
    body = ""
    while len(body) < letters:
        body += corpus[start:start + letters - len(body)]
        start = 0
    paragraphs = [body[i:i + 240] for i in range(0, len(body), 240)] or [""]
    return "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)


def _courses(site: FakeSite, args: dict[str, Any]) -> list[Row]:
    if args.get("courseids"):
        courses = []
        for courseid in args["courseids"]:
            course = site.db["course"].get(int(courseid))
            if course is None or course["id"] == 1:
                raise ValueError(f"no course {courseid}")
            courses.append(course)
        return courses
    idnumber = args.get("category_idnumber")
    if not idnumber:
        raise ValueError("simulate_progress needs courseids or category_idnumber")
    category = site.db["course_categories"].first(idnumber=str(idnumber))
    if category is None:
        raise ValueError(f"no category with idnumber {idnumber!r}")
    return site.db["course"].select(category=category["id"])


def _rates(given: dict[str, Any] | None) -> list[tuple[str, float]]:
    rates = {**DEFAULT_RATES, **{key: float(value) for key, value in (given or {}).items()}}
    unknown = set(rates) - set(OUTCOMES)
    if unknown or any(value < 0 for value in rates.values()) or sum(rates.values()) <= 0:
        raise ValueError(f"rates are shares of {', '.join(OUTCOMES)}, not {given!r}")
    total = sum(rates.values())
    return [(outcome, rates[outcome] / total) for outcome in OUTCOMES]


def _draw(rng: random.Random, rates: list[tuple[str, float]]) -> str:
    point = rng.random()
    for outcome, share in rates:
        if point < share:
            return outcome
        point -= share
    return rates[-1][0]


def _students(site: FakeSite, courseid: int) -> list[int]:
    """Active students: the learners course completion tracks."""
    return [userid for userid in enrolled_users(site, courseid, onlyactive=True)
            if STUDENT in course_roles(site, userid, courseid)]


def _teacher(site: FakeSite, courseid: int) -> int:
    """A teacher of the course (the lowest user id holding a teacher role there), else the admin."""
    ctx = course_context(site, courseid)
    teachers = sorted(int(row["userid"]) for row in site.db["role_assignments"].select(contextid=ctx["id"])
                      if int(row["roleid"]) in (EDITINGTEACHER, TEACHER))
    return teachers[0] if teachers else ADMIN


def _between(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low, high) if high > low else low


class _Cohort:
    """One run of the simulation: its random draws, the window, and what it did."""

    def __init__(self, site: FakeSite, args: dict[str, Any]) -> None:
        self.site = site
        self.rng = random.Random(int(args.get("seed", 2026)))
        now = site.now()
        self.end = int(args["end"]) if args.get("end") not in (None, "") else now
        self.start = (int(args["start"]) if args.get("start") not in (None, "")
                      else self.end - DEFAULT_WINDOW_DAYS * DAY)
        if self.start > self.end:
            raise ValueError(f"the window starts ({self.start}) after it ends ({self.end})")
        self.rates = _rates(args.get("rates"))
        # the part of the window replayed by this call: events after ``after`` and up to ``until``
        self.after = int(args["after"]) if args.get("after") not in (None, "") else None
        self.until = int(args["until"]) if args.get("until") not in (None, "") else None
        self.short_below = int(args.get("short_below") or 800)
        self.short_share = float(args.get("short_share", 0.2))
        self.counts = {key: 0 for key in (
            "learners", *OUTCOMES, "submitted", "draft", "opened", "short", "graded", "regraded",
            "discussions_created", "posts", "survey_answers", "scorm_sessions")}
        self.outcomes: dict[tuple[int, int], str] = {}
        # SCORM study draws from its own sequence: a course given courseware leaves every other draw as it was
        self.scorm_rng = random.Random(int(args.get("seed", 2026)) * 7919 + 17)
        self.submissions: list[dict[str, Any]] = []
        self.discussions: list[dict[str, Any]] = []

    def happens(self, when: int) -> bool:
        """Whether an event at ``when`` is replayed by this call (the whole window unless in parts)."""
        return (self.after is None or when > self.after) and (self.until is None or when <= self.until)

    def _as_of_until(self, outcome: str, started: int, completed: int | None) -> str:
        """The outcome as it stands at the end of this call's part: not started yet, or not completed yet."""
        if self.until is None or outcome == "not_started" or (completed or started) <= self.until:
            return outcome
        return "started" if started <= self.until else "not_started"

    # --- completion -----------------------------------------------------------------------------

    def course(self, course: Row) -> None:
        site, rng = self.site, self.rng
        courseid = int(course["id"])
        rules = [row for row in criteria(site, courseid) if int(row["criteriatype"]) == CRITERIA_ACTIVITY]
        rule_cms = [cm for cm in (site.db["course_modules"].get(int(row["moduleinstance"])) for row in rules)
                    if cm is not None]
        rule_ids = {cm["id"] for cm in rule_cms}
        others = [cm for cm in course_activities(site, courseid) if cm["id"] not in rule_ids]
        assigns = [(cm, site.db["assign"].get(cm["instance"]))
                   for cm in site.db["course_modules"].select(course=courseid, modname="assign")
                   if not cm.get("deletioninprogress")]
        teacher = _teacher(site, courseid)
        packages = [cm for cm in site.db["course_modules"].select(course=courseid, modname="scorm")
                    if not cm.get("deletioninprogress") and cm.get("visible", 1)]
        for userid in _students(site, courseid):
            outcome = _draw(rng, self.rates)
            self.outcomes[(userid, courseid)] = outcome
            self.counts["learners"] += 1
            if outcome == "not_started":
                self.counts[outcome] += 1
                continue
            started = _between(rng, self.start, self.end)
            completed = _between(rng, started, self.end) if outcome == "completed" else None
            lastaccess = _between(rng, completed or started, self.end)
            self.counts[self._as_of_until(outcome, started, completed)] += 1
            if self.happens(started):
                with site.clock.at(started):
                    log_course_access(site, userid, courseid)
                    ensure_course_completion(site, userid, courseid)
            done_until = completed or lastaccess
            for cm in others:
                if rng.random() < 0.5:
                    when = _between(rng, started, done_until)
                    if self.happens(when):
                        with site.clock.at(when):
                            update_state(site, cm, userid, COMPLETION_COMPLETE)
            if completed is not None:
                if self.happens(completed):
                    with site.clock.at(completed):
                        self._complete(userid, courseid, rule_cms)
                for cm, assign in assigns:
                    if assign is not None:
                        self._reflect(userid, courseid, cm, assign, started, lastaccess, teacher)
            for cm in packages:
                self._study(userid, cm, started, lastaccess, completed is not None)
            if self.happens(lastaccess):
                with site.clock.at(lastaccess):
                    log_course_access(site, userid, courseid)

    def _complete(self, userid: int, courseid: int, rule_cms: list[Row]) -> None:
        site = self.site
        if not rule_cms:
            mark_course_complete(site, userid, courseid)
        for cm in rule_cms:
            row = site.db["course_modules_completion"].first(coursemoduleid=cm["id"], userid=userid)
            if row is not None and int(row["completionstate"]) == COMPLETION_COMPLETE:
                review_activity_criteria(site, cm, userid)
            else:
                update_state(site, cm, userid, COMPLETION_COMPLETE)

    # --- SCORM courseware -----------------------------------------------------------------------

    def _study(self, userid: int, cm: Row, started: int, until: int, completed: bool) -> None:
        """The learner studies the package's SCOs in Moodle's player: one to three sessions a SCO they
        open (every SCO once they completed the course), 5 to 40 minutes each, a few left unfinished
        (the session saved, never added to the total), and now and then a second attempt."""
        site, rng = self.site, self.scorm_rng
        launchable = [sco for sco in scoes(site, int(cm["instance"])) if sco.get("launch")]
        opened = launchable if completed else [sco for sco in launchable if rng.random() < 0.6]
        sessions = sorted(((_between(rng, started, until), sco) for sco in opened
                           for _ in range(rng.randint(1, 3))), key=lambda session: session[0])
        again = completed and bool(sessions) and rng.random() < 0.15
        if again:
            sessions.append((_between(rng, sessions[-1][0], until), launchable[0]))
        last = len(sessions) - 1
        for number, (when, sco) in enumerate(sessions):
            seconds = rng.randint(300, 2400) + rng.randint(0, 99) / 100
            finish = rng.random() >= 0.1
            if not self.happens(when):
                continue
            with site.clock.at(when):
                scorm_session(site, {"userid": userid, "cmid": cm["id"], "scoid": sco["id"],
                                     "seconds": seconds,
                                     "status": "completed" if completed and number >= last - int(again)
                                     else "incomplete",
                                     "finish": finish, "new_attempt": again and number == last})
            self.counts["scorm_sessions"] += 1

    # --- reflections ----------------------------------------------------------------------------

    def _reflect(self, userid: int, courseid: int, cm: Row, assign: Row, started: int, until: int,
                 teacher: int) -> None:
        site, rng = self.site, self.rng
        choice = rng.random()
        if choice >= SUBMIT_SHARE + UNFINISHED_SHARE:
            return
        written = _between(rng, started, until)
        short = rng.random() < self.short_share
        letters = (_between(rng, max(1, self.short_below // 10), self.short_below - 1) if short
                   else _between(rng, self.short_below, self.short_below * 2 + 400))
        text = chinese_text(rng, letters)
        # what the learner leaves: submitted, a draft (where drafts are on), or opened and never saved
        drafts = assign_setting(assign, "submissiondrafts")
        status = "submitted" if choice < SUBMIT_SHARE else "draft" if drafts else "new"
        if status == "new":
            text, letters = "", 0
        if self.happens(written):
            with site.clock.at(written):
                if status == "new":
                    user_submission(site, assign, userid, create=True)
                else:
                    assign_submit(site, {"userid": userid, "cmid": cm["id"], "text": text,
                                         **({"draft": True} if status == "draft" else {})})
            self.counts["opened" if status == "new" else status] += 1
            if bool(text) and letters < self.short_below and status == "submitted":
                self.counts["short"] += 1
        submission = user_submission(site, assign, userid, create=False)  # None: written after this part
        entry: dict[str, Any] | None = None if submission is None else {
            "userid": userid, "courseid": courseid, "cmid": cm["id"], "assignid": assign["id"],
            "submissionid": submission["id"], "status": str(submission["status"]),
            "chars": letters if text else 0,
            "short": bool(text) and letters < self.short_below,
            "timemodified": int(submission["timemodified"]), "grade": None, "grader": None,
            "timegraded": None, "regraded": False}
        maximum = float(assign_setting(assign, "grade"))
        if status == "submitted" and maximum > 0 and rng.random() < GRADED_SHARE:
            regrade = rng.random() < REGRADED_SHARE
            graded = _between(rng, written, (written + self.end) // 2 if regrade else self.end)
            grades = [(graded, round(maximum * rng.uniform(0.4, 1.0), 1), rng.choice(_COMMENTS))]
            if regrade:
                graded = _between(rng, graded + 60, max(graded + 60, self.end))
                grades.append((graded, round(maximum * rng.uniform(0.4, 1.0), 1), rng.choice(_COMMENTS)))
            for number, (when, grade, feedback) in enumerate(grades):
                if not self.happens(when):
                    continue
                with site.clock.at(when):
                    assign_grade(site, {"teacherid": teacher, "userid": userid, "cmid": cm["id"],
                                        "grade": grade, "feedback": feedback})
                self.counts["regraded" if number else "graded"] += 1
                if entry is not None:
                    entry.update(grade=grade, grader=teacher, timegraded=when, regraded=bool(number))
        if entry is not None:
            self.submissions.append(entry)

    # --- discussions ----------------------------------------------------------------------------

    def discussion(self, spec: dict[str, Any]) -> None:
        site, rng = self.site, self.rng
        courseid, subject = int(spec["courseid"]), str(spec["subject"])
        opens, closes = int(spec["opens"]), int(spec["closes"])
        forum = self._forum(courseid, spec.get("forumid"))
        found = site.db["forum_discussions"].first(forum=forum["id"], name=subject)
        created = found is None
        if found is None and (self.until is None or opens <= self.until):  # else opened in a later part
            with site.clock.at(opens):
                made = forum_add_discussion(site, {
                    "userid": ADMIN, "forumid": forum["id"], "subject": subject,
                    "message": f"<p>{subject}：请结合本课程学习谈谈你的体会。</p>"})
            found = site.db["forum_discussions"].get(made["discussionid"])
            assert found is not None
            self.counts["discussions_created"] += 1
        posts = []
        for userid in _students(site, courseid):
            if self.outcomes.get((userid, courseid), "not_started") == "not_started":
                continue
            count = rng.choices(range(len(REPLY_WEIGHTS)), weights=REPLY_WEIGHTS)[0]
            times = sorted(_between(rng, opens - POST_MARGIN, closes + POST_MARGIN) for _ in range(count))
            replayed = []
            for when in times:
                message = chinese_text(rng, _between(rng, 30, 300))
                if found is None or not self.happens(max(when, opens)):  # an early post waits for its topic
                    continue
                with site.clock.at(when):
                    add_reply(site, userid, int(found["firstpost"]), f"Re: {subject}", message)
                    log_course_access(site, userid, courseid)
                replayed.append(when)
            if replayed:
                posts.append({"userid": userid, "times": replayed})
                self.counts["posts"] += len(replayed)
        if found is not None:
            self.discussions.append({"discussionid": found["id"], "forumid": forum["id"],
                                     "courseid": courseid, "subject": subject, "opens": opens,
                                     "closes": closes, "created": created, "posts": posts})

    def _forum(self, courseid: int, forumid: Any) -> Row:
        site = self.site
        if forumid not in (None, ""):
            forum = site.db["forum"].get(int(forumid))
            if forum is None or int(forum["course"]) != courseid:
                raise ValueError(f"no forum {forumid} in course {courseid}")
            return forum
        for cm in site.db["course_modules"].select(course=courseid, modname="forum"):
            forum = site.db["forum"].get(cm["instance"])
            if forum is not None and forum.get("type") != "news" and not cm.get("deletioninprogress"):
                return forum
        raise ValueError(f"course {courseid} has no discussion forum")

    # --- surveys ---------------------------------------------------------------------------------

    def survey(self, spec: dict[str, Any]) -> None:
        """A share of the course's learners who started it answer each of its feedback activities."""
        site, rng = self.site, self.rng
        courseid, share = int(spec["courseid"]), float(spec.get("share", 0.6))
        for cm in site.db["course_modules"].select(course=courseid, modname="feedback"):
            items = sorted(site.db["feedback_item"].select(feedback=cm["instance"]),
                           key=lambda item: int(item["position"]))
            for userid in _students(site, courseid):
                started = self.outcomes.get((userid, courseid), "not_started") != "not_started"
                if not started or rng.random() >= share:
                    continue
                answers = [[item["id"], _answer(rng, item)] for item in items
                           if int(item.get("hasvalue", 1))]
                when = _between(rng, self.start, self.end)
                if not self.happens(when) or site.db["feedback_completed"].first(
                        feedback=cm["instance"], userid=userid) is not None:
                    continue
                with site.clock.at(when):
                    feedback_respond(site, {"userid": userid, "cmid": cm["id"], "answers": answers})
                self.counts["survey_answers"] += 1

    # --- the answer -----------------------------------------------------------------------------

    def truth(self) -> list[dict[str, Any]]:
        """Every learner's outcome as the site now holds it (completion times read back)."""
        site = self.site
        found = []
        for (userid, courseid), outcome in self.outcomes.items():
            completion = site.db["course_completions"].first(course=courseid, userid=userid)
            access = site.db["user_lastaccess"].first(userid=userid, courseid=courseid)
            found.append({
                "userid": userid, "courseid": courseid, "outcome": outcome,
                "timestarted": int(completion["timestarted"] or 0) if completion else None,
                "timecompleted": (int(completion["timecompleted"])
                                  if completion and completion.get("timecompleted") else None),
                "lastaccess": int(access["timeaccess"]) if access else None})
        return found


def _answer(rng: random.Random, item: Row) -> str:
    """A plausible answer to a feedback question: one choice, a few of a checkbox list, a sentence."""
    typ = str(item.get("typ"))
    if typ in ("multichoice", "multichoicerated"):
        presentation = str(item.get("presentation", ""))
        subtype, _, rest = presentation.partition(">>>>>")
        count = len((rest or presentation).split("<<<<<")[0].split("|"))
        if subtype == "c":
            chosen = rng.sample(range(1, count + 1), rng.randint(1, min(3, count)))
            return "|".join(str(n) for n in sorted(chosen))
        return str(rng.randint(1, count))
    if typ == "numeric":
        return str(rng.randint(1, 5))
    return rng.choice(_SENTENCES) if rng.random() < 0.4 else ""


@site_action("simulate_progress")
def simulate_progress(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A cohort's progress mid-year, the same for the same ``seed``.

    Args: ``courseids`` or ``category_idnumber``; ``seed``; ``start``/``end`` (unix times, default the
    120 days before now); ``rates`` (shares of ``not_started``, ``started``, ``completed``);
    ``short_below`` (800) and ``short_share`` (0.2) for the reflections' lengths; ``discussions``
    (``[{"courseid", "subject", "opens", "closes"}, ...]``, made by the admin at ``opens`` when missing,
    optional ``forumid``); ``surveys`` (``[{"courseid", "share"}, ...]``: that share of the learners who
    started the course answer its feedback activities, choices drawn at random, some free text);
    ``ground_truth`` (true) to answer with the outcomes, submissions and posts; ``until`` and ``after``
    (unix times, optional) to replay only the events after ``after`` and up to ``until`` (a year in parts:
    the same arguments with ``until`` T, then with ``after`` T; the counts say where each learner stands
    at ``until``, the reflections, grades, posts, answers and SCORM sessions what this part replayed).

    Per active student and course: not started (nothing), started (course accessed, completion started,
    some non-criterion activities done) or completed (the criterion activities done at a time inside
    the window, so course completion aggregates then). Completed learners of a course with an
    assignment submit online text (some shorter than ``short_below``), leave it as a draft (where
    drafts are on) or only open it; a teacher of the course (else the admin) grades ~60% of what was
    submitted and regrades ~10% of those later. Learners who started reply 0-8 times to each
    discussion, between 10 days before it opens and 10 days after it closes.
    """
    cohort = _Cohort(site, args)
    courses = _courses(site, args)
    for course in courses:
        cohort.course(course)
    for spec in args.get("discussions") or []:
        cohort.discussion(dict(spec))
    for spec in args.get("surveys") or []:
        cohort.survey(dict(spec))
    answer: dict[str, Any] = {"courseids": [int(course["id"]) for course in courses],
                              "window": {"start": cohort.start, "end": cohort.end},
                              "counts": cohort.counts}
    if args.get("ground_truth", True):
        answer.update(outcomes=cohort.truth(), submissions=cohort.submissions,
                      discussions=cohort.discussions)
    gc.collect()  # once now, for the rows made while collection waited, rather than during later reads
    return answer
