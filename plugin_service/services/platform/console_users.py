"""The console's users: who may sign in, with which role, and over which cadres.

Passwords are kept only as werkzeug hashes (scrypt). Signing in with an unknown name costs as much as
with a known one, so the answer's time does not tell which names exist. Every change is written to the
audit log with who made it (never with a password); a new password, a new role or disabling a user signs
out all of that user's sessions (``session_version``). The last active administrator cannot be disabled
or given another role, so someone can always manage the users.

The reasons a change is refused (``UserError``) and the warnings are ``rules.wording.Sentence``: the
command line prints them as they are, the console in its reader's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from rules.wording import Sentence

from ...models import AuditLog, Cadre, ConsoleUser, utcnow

ROLES = ("admin", "officer", "reviewer")
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
#: Checked when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("cadre-companion: no such user")


class UserError(Exception):
    """A user cannot be created or changed as asked; the message says why. Nothing was changed."""

    def __init__(self, message: Sentence) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    role: str
    departments: tuple[str, ...]
    employee_no: str | None
    disabled: bool
    session_version: int
    created_at: datetime
    last_login_at: datetime | None


def view(user: ConsoleUser) -> UserView:
    return UserView(user.id, user.username, user.role, tuple(user.departments or ()), user.employee_no,
                    user.disabled, user.session_version, user.created_at, user.last_login_at)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(Sentence("the password must have at least %(n)s characters", n=MIN_PASSWORD))
    if password.strip() != password:
        raise UserError(Sentence("the password must not start or end with a space"))


def check_repeated(password: str, repeated: str) -> None:
    """A password typed twice in a form: a typing mistake would lock the user out."""
    if password != repeated:
        raise UserError(Sentence("the two passwords do not match"))


def _by_name(session: Session, username: str) -> ConsoleUser | None:
    return session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))


def _existing(session: Session, username: str) -> ConsoleUser:
    user = _by_name(session, username)
    if user is None:
        raise UserError(Sentence("no user %(name)s", name=username))
    return user


def _audit(session: Session, actor: str, action: str, username: str, **detail: object) -> None:
    session.add(AuditLog(actor=actor, action=action, target=f"user:{username}", detail=dict(detail)))


def _scope(session: Session, role: str, departments: tuple[str, ...], employee_no: str | None
           ) -> tuple[tuple[str, ...], str | None, list[Sentence]]:
    """What a user of ``role`` sees, checked: the departments (cleaned) and the employee number, and
    warnings for those no stored cadre has (they may be right before the first roster is applied)."""
    if role not in ROLES:
        raise UserError(Sentence("role %(role)s is not one of %(roles)s", role=repr(role),
                                 roles=", ".join(ROLES)))
    departments = tuple(dict.fromkeys(d.strip() for d in departments if d.strip()))
    employee_no = (employee_no or "").strip() or None
    if role == "officer" and not departments:
        raise UserError(Sentence("an officer needs at least one --department"))
    if role != "officer" and departments:
        raise UserError(Sentence("only an officer has departments"))
    if role == "reviewer" and not employee_no:
        raise UserError(Sentence("a reviewer needs --employee-no: the school leader's employee number"))
    if role != "reviewer" and employee_no:
        raise UserError(Sentence("only a reviewer has an employee number"))
    warnings = []
    known = set(session.scalars(select(Cadre.department).where(Cadre.department.in_(departments))
                                .distinct())) if departments else set()
    warnings += [Sentence("no stored cadre is in department %(department)s (yet)", department=repr(d))
                 for d in departments if d not in known]
    if employee_no and session.get(Cadre, employee_no) is None:
        warnings.append(Sentence("no stored cadre has employee number %(employee_no)s (yet)",
                                 employee_no=employee_no))
    return departments, employee_no, warnings


def _keep_an_admin(session: Session, user: ConsoleUser) -> None:
    """Someone must be left who can manage the users from the console."""
    if user.role == "admin" and not user.disabled and count_admins(session) <= 1:
        raise UserError(Sentence("%(name)s is the last active administrator: make another user an "
                                 "administrator first", name=user.username))


def create_user(session: Session, username: str, password: str, *, role: str, actor: str,
                departments: tuple[str, ...] = (), employee_no: str | None = None
                ) -> tuple[UserView, list[Sentence]]:
    """Creates a user; returns it and warnings (departments no stored cadre belongs to, a reviewer
    who is not a stored cadre): they may be right before the first roster is applied."""
    if not USERNAME.match(username):
        raise UserError(Sentence("user name %(name)s: 2 to 64 letters, digits or . _ @ -, starting with a "
                                 "letter or digit", name=repr(username)))
    departments, employee_no, warnings = _scope(session, role, departments, employee_no)
    check_password(password)
    if _by_name(session, username) is not None:
        raise UserError(Sentence("user %(name)s already exists", name=username))
    user = ConsoleUser(username=username, password_hash=generate_password_hash(password), role=role,
                       departments=list(departments), employee_no=employee_no)
    session.add(user)
    session.flush()
    _audit(session, actor, "user:add", username, role=role, departments=list(departments),
           employee_no=employee_no)
    return view(user), warnings


def list_users(session: Session) -> list[UserView]:
    return [view(u) for u in session.scalars(select(ConsoleUser).order_by(ConsoleUser.username))]


def find_user(session: Session, username: str) -> UserView | None:
    found = _by_name(session, username)
    return view(found) if found is not None else None


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ConsoleUser)
                          .where(ConsoleUser.role == "admin", ConsoleUser.disabled.is_(False))) or 0


def set_password(session: Session, username: str, password: str, *, actor: str) -> UserView:
    """Sets the password; every session of the user ends (the one asking may carry on with the
    returned ``session_version``)."""
    user = _existing(session, username)
    check_password(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    _audit(session, actor, "user:passwd", username)
    return view(user)


def change_role(session: Session, username: str, *, role: str, actor: str, departments: tuple[str, ...] = (),
                employee_no: str | None = None) -> tuple[bool, list[Sentence]]:
    """Gives a user another role or scope; returns whether anything changed, and the warnings of
    ``create_user``. A new role ends the user's sessions; a new scope applies from their next page."""
    user = _existing(session, username)
    departments, employee_no, warnings = _scope(session, role, departments, employee_no)
    before = {"role": user.role, "departments": list(user.departments or ()), "employee_no": user.employee_no}
    after = {"role": role, "departments": list(departments), "employee_no": employee_no}
    if after == before:
        return False, []
    if role != user.role:
        _keep_an_admin(session, user)
        user.session_version += 1
    user.role, user.departments, user.employee_no = role, list(departments), employee_no
    _audit(session, actor, "user:change", username, **after, before=before)
    return True, warnings


def disable_user(session: Session, username: str, *, actor: str, by: str | None = None) -> None:
    """Disables a user and ends their sessions. ``by`` names the console user who asks: nobody
    disables themselves, and the last active administrator stays."""
    user = _existing(session, username)
    if user.disabled:
        raise UserError(Sentence("user %(name)s is disabled already", name=username))
    if by == username:
        raise UserError(Sentence("you cannot disable yourself: ask another administrator"))
    _keep_an_admin(session, user)
    user.disabled = True
    user.session_version += 1
    _audit(session, actor, "user:disable", username)


def enable_user(session: Session, username: str, *, actor: str) -> None:
    """Lets a disabled user sign in again, with the password they had (their old sessions stay ended)."""
    user = _existing(session, username)
    if not user.disabled:
        raise UserError(Sentence("user %(name)s is not disabled", name=username))
    user.disabled = False
    _audit(session, actor, "user:enable", username)


def authenticate(session: Session, username: str, password: str) -> UserView | None:
    """The user, when the name and password are right and the user is not disabled; records the
    attempt either way (without the password)."""
    user = _by_name(session, username.strip())
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        session.add(AuditLog(actor=f"console:{username.strip()[:64]}", action="console:login",
                             target="", outcome="failed", detail={"reason": "unknown user"}))
        return None
    good = check_password_hash(user.password_hash, password)
    if not good or user.disabled:
        session.add(AuditLog(actor=f"console:{user.username}", action="console:login",
                             target=f"user:{user.username}", outcome="failed",
                             detail={"reason": "disabled" if good else "wrong password"}))
        return None
    user.last_login_at = utcnow()
    session.add(AuditLog(actor=f"console:{user.username}", action="console:login",
                         target=f"user:{user.username}"))
    return view(user)


def current(session: Session, user_id: int, session_version: int) -> UserView | None:
    """The signed-in user of a session, if the session still stands (not disabled, no new password)."""
    user = session.get(ConsoleUser, user_id)
    if user is None or user.disabled or user.session_version != session_version:
        return None
    return view(user)
