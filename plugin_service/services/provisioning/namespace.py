"""A namespace in front of every key the companion writes to Moodle.

One Moodle can then hold several independent sets of the companion's objects: a live test run
(``cclive-1a2b3c-``) beside production, or a rehearsal of next year's plan. Production uses none.
"""

from __future__ import annotations

from dataclasses import replace

from rules.desired import DesiredState


def namespaced(desired: DesiredState, prefix: str) -> DesiredState:
    """The same desired state with ``prefix`` before every idnumber, shortname and username."""
    if not prefix:
        return desired

    def key(value: str) -> str:
        return prefix + value

    return replace(
        desired,
        category=replace(desired.category, idnumber=key(desired.category.idnumber)),
        users=tuple(replace(u, employee_no=key(u.employee_no), username=key(u.username).lower())
                    for u in desired.users),
        classes=tuple(replace(c, idnumber=key(c.idnumber), members=frozenset(map(key, c.members)))
                      for c in desired.classes),
        courses=tuple(replace(c, idnumber=key(c.idnumber), shortname=key(c.shortname),
                              category_idnumber=key(c.category_idnumber)) for c in desired.courses),
        enrolments=frozenset(replace(e, employee_no=key(e.employee_no),
                                     course_idnumber=key(e.course_idnumber))
                             for e in desired.enrolments),
        reviewers=tuple(replace(r, reviewer=key(r.reviewer), cadres=frozenset(map(key, r.cadres)))
                        for r in desired.reviewers),
    )


def strip(prefix: str, value: str) -> str:
    return value[len(prefix):] if prefix and value.startswith(prefix) else value
