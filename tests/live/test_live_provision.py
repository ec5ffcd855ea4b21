"""The provisioning of a small plan year on a real Moodle, end to end, in the run's namespace."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from moodle_bridge import MoodleClient
from moodle_bridge.fake.external import signatures
from plugin_service.config import Settings
from plugin_service.db import upgrade
from plugin_service.services.provisioning.provision import apply, check_inputs, preview, required_functions

from .conftest import require_functions, template_course_shortname

ROSTER = """工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号
L001,王校长,男,校领导,党政部门,校长,校级,l001@example.edu,13800000001,在职,
L002,李处长,女,组织部,党政部门,部长,正处级,l002@example.edu,13800000002,在职,L001
L003,张院长,男,机电学院,教学部门,院长,正处级,l003@example.edu,13800000003,在职,L001
L004,赵科长,女,组织部,党政部门,科长,正科级,l004@example.edu,13800000004,在职,L001
L005,钱科长,男,机电学院,教学部门,副科长,副科级,l005@example.edu,13800000005,离岗,L001
"""


def plan_text(prefix: str, template: str) -> str:
    return f"""year: 2026
title: live test plan
organisation: live test
period: {{start: 2026-03-01, end: 2026-12-15}}
moodle: {{category: {prefix}live test 2026, learner_role: student, reviewer_role: teacher}}
hours: {{target: 8, required_min: 4}}
tiers:
  - {{key: leaders, name: 校领导, match: {{rank: [校级]}}}}
  - {{key: middle, name: 中层, match: {{rank: [正处级, 副处级]}}}}
  - {{key: section, name: 科级, match: {{rank: [正科级, 副科级]}}}}
excluded: {{match: {{status: [离岗, 离职]}}}}
classes:
  - {{key: leaders, tier: leaders, name: {prefix}校领导班}}
  - {{key: middle, tier: middle, name: {prefix}中层班}}
  - {{key: section, tier: section, name: {prefix}科级班}}
courses:
  - {{key: core, name: {prefix}必修课, hours: 4, template: {template}, required: all}}
  - {{key: extra, name: {prefix}选修课, hours: 4, elective: all}}
reviewers: {{by: supervising_leader, fallback: L001}}
"""


def test_a_small_year_is_provisioned_once(live_client: MoodleClient, prefix: str,
                                          cleanup: Callable[[Callable[[], object]], None],
                                          tmp_path: Path) -> None:
    require_functions(live_client, *required_functions(), "core_user_delete_users",
                      "core_course_delete_courses", "core_cohort_delete_cohorts")
    template = template_course_shortname()
    database = f"sqlite:///{tmp_path / 'cadre.sqlite3'}"
    upgrade(database)
    settings = Settings(moodle_url=os.environ["MOODLE_URL"], moodle_token=os.environ["MOODLE_TOKEN"],
                        database_url=database, secret_key="live", moodle_namespace=prefix,
                        moodle_batch_size=50, moodle_max_workers=2)
    inputs = check_inputs(plan_text(prefix, template), "plan.yaml", ROSTER.encode(), "roster.csv")

    def remove_everything() -> None:
        found = preview(live_client, inputs, settings).actual
        courses = {c.id for c in [*found.courses.values(), *found.courses_by_shortname.values()]}
        if courses:
            live_client.core_course.delete_courses(sorted(courses))
        if found.classes:
            live_client.core_cohort.delete_cohorts([c.id for c in found.classes.values()])
        if found.users:
            live_client.core_user.delete_users([u.id for u in found.users.values()])

    cleanup(remove_everything)
    result = apply(live_client, inputs, settings, actor="live-test")
    assert result.counts["create_user"] == 5
    assert result.counts["create_class"] == 3
    assert result.counts["copy_course"] == 1 and result.counts["create_course"] == 1
    state = preview(live_client, inputs, settings)
    assert state.changes.empty, [op.describe() for op in state.changes.ops]
    members = {c.idnumber: state.actual.members[c.id] for c in state.actual.classes.values()}
    middle = members[f"{prefix}cadre:2026:class:middle"]
    assert middle == {state.actual.users[f"{prefix}L002"].id, state.actual.users[f"{prefix}L003"].id}
    core = state.actual.courses[f"{prefix}cadre:2026:course:core"]
    enrolled = state.actual.enrolments[core.id]
    assert enrolled[state.actual.users[f"{prefix}L002"].id].roles == {"student"}
    assert "teacher" in enrolled[state.actual.users[f"{prefix}L001"].id].roles
    assert state.actual.users[f"{prefix}L005"].id not in enrolled  # on leave: not enrolled
    writes = {name for name, info in signatures().items() if info["type"] == "write"}
    before = {name: n for name, n in live_client.calls.items() if name in writes}
    again = apply(live_client, inputs, settings, actor="live-test")
    after = {name: n for name, n in live_client.calls.items() if name in writes}
    assert again.changes.empty and after == before
