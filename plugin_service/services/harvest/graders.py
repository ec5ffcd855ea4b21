"""Who graded a reflection, by name, stored with the grade so that showing a record asks Moodle nothing.

A grader who is a cadre is named as the roster names them. Anyone else (a teacher, a manager, the
service user) is asked of Moodle by id (``core_user_get_users_by_field``), all of a harvest's unknown
graders in one batched call, each id at most once a harvest. Moodle leaves out users the web-service
user may not see and deleted users; those are stored without a name (``""``), shown by their Moodle id
with a note saying Moodle did not return them (``learning_records.grader_of``), and asked again by the
next harvest, since an admin may grant the capability meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable

from moodle_bridge import AccessDeniedError, MoodleClient, NotFoundError

from .context import YearContext


class GraderNames:
    """Grader names for one harvest: what was asked once is not asked again."""

    def __init__(self, client: MoodleClient, context: YearContext) -> None:
        self.client = client
        self.context = context
        self.known: dict[int, str] = {}  # Moodle user id -> name ("" when Moodle did not return them)

    def names(self, userids: Iterable[int]) -> dict[int, str]:
        """The name of each grader id; ``""`` for one Moodle did not return."""
        wanted = {userid for userid in userids if userid > 0}
        ask = []
        for userid in sorted(wanted - set(self.known)):
            employee_no = self.context.cadre_by_userid.get(userid)
            name = self.context.names.get(employee_no, "") if employee_no is not None else ""
            if name:
                self.known[userid] = name
            else:
                ask.append(userid)
        if ask:
            try:
                users = self.client.core_user.get_users_by_field("id", ask)
            except (AccessDeniedError, NotFoundError):
                users = []  # the same as leaving them out: not named, asked again next time
            found = {user.id: user.fullname.strip() for user in users}
            self.known.update({userid: found.get(userid, "") for userid in ask})
        return {userid: self.known.get(userid, "") for userid in wanted}


def unnamed(grader: str, userid: int | None) -> bool:
    """Whether a stored grader still waits for a name: none stored, or the "Moodle user N" that harvests
    before names were asked for stored in its place."""
    return userid is not None and userid > 0 and grader in ("", f"Moodle user {userid}")
