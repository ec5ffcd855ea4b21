"""The console's users: who may sign in, with which role, and over which cadres.

Passwords are kept only as werkzeug hashes (scrypt). Signing in with an unknown name costs as much as
with a known one, so the answer's time does not tell which names exist. Every change is written to the
audit log with who made it; a new password or disabling a user signs out all of that user's sessions
(``session_version``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import AuditLog, Cadre, ConsoleUser, utcnow

ROLES = ("admin", "officer", "reviewer")
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
#: Checked when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("cadre-companion: no such user")


class UserError(Exception):
    """A user cannot be created or changed as asked; the message says why. Nothing was changed."""


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
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if password.strip() != password:
        raise UserError("the password must not start or end with a space")


def _by_name(session: Session, username: str) -> ConsoleUser | None:
    return session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))


def _audit(session: Session, actor: str, action: str, username: str, **detail: object) -> None:
    session.add(AuditLog(actor=actor, action=action, target=f"user:{username}", detail=dict(detail)))


def create_user(session: Session, username: str, password: str, *, role: str, actor: str,
                departments: tuple[str, ...] = (), employee_no: str | None = None
                ) -> tuple[UserView, list[str]]:
    """Creates a user; returns it and warnings (departments no stored cadre belongs to, a reviewer
    who is not a stored cadre): they may be right before the first roster is applied."""
    if not USERNAME.match(username):
        raise UserError(f"user name {username!r}: 2 to 64 letters, digits or . _ @ -, starting with a "
                        "letter or digit")
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    departments = tuple(dict.fromkeys(d.strip() for d in departments if d.strip()))
    if role == "officer" and not departments:
        raise UserError("an officer needs at least one --department")
    if role != "officer" and departments:
        raise UserError("only an officer has departments")
    if role == "reviewer" and not employee_no:
        raise UserError("a reviewer needs --employee-no: the school leader's employee number")
    if role != "reviewer" and employee_no:
        raise UserError("only a reviewer has an employee number")
    check_password(password)
    if _by_name(session, username) is not None:
        raise UserError(f"user {username} already exists")
    warnings = []
    known = set(session.scalars(select(Cadre.department).where(Cadre.department.in_(departments))
                                .distinct())) if departments else set()
    warnings += [f"no stored cadre is in department {d!r} (yet)" for d in departments if d not in known]
    if employee_no and session.get(Cadre, employee_no) is None:
        warnings.append(f"no stored cadre has employee number {employee_no} (yet)")
    user = ConsoleUser(username=username, password_hash=generate_password_hash(password), role=role,
                       departments=list(departments), employee_no=employee_no or None)
    session.add(user)
    session.flush()
    _audit(session, actor, "user:add", username, role=role, departments=list(departments),
           employee_no=employee_no)
    return view(user), warnings


def list_users(session: Session) -> list[UserView]:
    return [view(u) for u in session.scalars(select(ConsoleUser).order_by(ConsoleUser.username))]


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ConsoleUser)
                          .where(ConsoleUser.role == "admin", ConsoleUser.disabled.is_(False))) or 0


def set_password(session: Session, username: str, password: str, *, actor: str) -> None:
    user = _by_name(session, username)
    if user is None:
        raise UserError(f"no user {username}")
    check_password(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    _audit(session, actor, "user:passwd", username)


def disable_user(session: Session, username: str, *, actor: str) -> None:
    user = _by_name(session, username)
    if user is None:
        raise UserError(f"no user {username}")
    if user.disabled:
        raise UserError(f"user {username} is disabled already")
    user.disabled = True
    user.session_version += 1
    _audit(session, actor, "user:disable", username)


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
