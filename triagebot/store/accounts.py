"""Moderator accounts over the `users` table, the login throttle, and audit rows that concern no thread.

Password hashing is not done here: callers pass the hash to store and a `verify` function to check one,
so the store stays free of crypto libraries and the hash work runs outside any transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from triagebot.errors import InputError, StoreError
from triagebot.store.repository import Store
from triagebot.store.tables import AuditRow, UserRow
from triagebot.store.views import UserRole

MAX_NAME = 100
LOCK_AFTER = 10  # wrong passwords in a row
LOCK_FOR = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Account:
    """A moderator account as the app sees it (never the password hash)."""

    id: int
    name: str
    role: UserRole
    failed_logins: int
    locked_until: datetime | None
    language: str | None
    created_at: datetime

    def locked(self, now: datetime) -> bool:
        """True while the login throttle keeps this account closed."""
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """What a login attempt came to: the account when it succeeded, `locked` when the throttle refused."""

    account: Account | None
    locked: bool = False


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit row for the admin page and the JSONL export."""

    id: int
    at: datetime
    actor: str
    action: str
    thread_id: int | None
    review_item_id: int | None
    from_status: str | None
    to_status: str | None
    note: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        """The row as a JSON object (times in ISO 8601, UTC)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "thread_id": self.thread_id,
            "review_item_id": self.review_item_id,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "note": self.note,
            "before": self.before,
            "after": self.after,
        }


def _account(row: UserRow) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        role=UserRole(row.role),
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        language=row.language,
        created_at=row.created_at,
    )


@contextmanager
def _session(store: Store, *, write: bool) -> Iterator[Session]:
    """A session on the store's database; database failures become StoreError."""
    try:
        if write:
            with Session(store.write_engine, expire_on_commit=False) as session, session.begin():
                yield session
        else:
            with Session(store.engine) as session:
                yield session
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreError(f"database error on {store.display_url}: {first}") from None


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    note: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit row that concerns no thread (logins, accounts) to `session`'s transaction."""
    session.add(AuditRow(actor=actor, action=action, note=note, before=before, after=after, at=at))


def check_name(name: str) -> str:
    """The account name, stripped; InputError when empty, too long or containing spaces."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(ch.isspace() for ch in name):
        raise InputError(f"a user name is 1 to {MAX_NAME} characters without spaces")
    return name


def add_user(store: Store, name: str, password_hash: str, role: UserRole, *, actor: str) -> Account:
    """Create an account; InputError when the name is taken. The creation is audited."""
    name = check_name(name)
    now = store.clock()
    try:
        with _session(store, write=True) as session:
            row = UserRow(
                name=name,
                password_hash=password_hash,
                role=role.value,
                failed_logins=0,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            record_event(session, actor=actor, action="user-add", at=now, after={"name": name, "role": role})
            return _account(row)
    except IntegrityError:
        raise InputError(f"a user named {name!r} already exists") from None


def get_user(store: Store, user_id: int) -> Account | None:
    """The account with this id, or None (deleted or never existed)."""
    with _session(store, write=False) as session:
        row = session.get(UserRow, user_id)
        return None if row is None else _account(row)


def find_user(store: Store, name: str) -> Account | None:
    """The account with this name, or None."""
    with _session(store, write=False) as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name.strip())).one_or_none()
        return None if row is None else _account(row)


def list_users(store: Store) -> tuple[Account, ...]:
    """Every account, by name."""
    with _session(store, write=False) as session:
        return tuple(_account(row) for row in session.scalars(select(UserRow).order_by(UserRow.name)))


def user_count(store: Store) -> int:
    """How many accounts exist."""
    with _session(store, write=False) as session:
        return int(session.scalar(select(func.count(UserRow.id))) or 0)


def log_in(store: Store, name: str, password: str, verify: Callable[[str | None, str], bool]) -> LoginOutcome:
    """Check a login and keep the throttle's count: ten wrong passwords in a row lock the account.

    While locked even the right password is refused, so guessing cannot go on at full speed. Each
    attempt is audited (the password never is). `verify(hash_or_None, password)` does the hash check;
    it runs outside any transaction because Argon2 is deliberately slow.
    """
    name = name.strip()[:MAX_NAME]
    now = store.clock()
    with _session(store, write=False) as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name)).one_or_none()
        account = None if row is None else _account(row)
        password_hash = None if row is None else row.password_hash
    if account is not None and account.locked(now):
        verify(None, password)  # the same cost as a real check, so timing does not tell it is locked
        with _session(store, write=True) as session:
            record_event(session, actor=name, action="login-locked", at=now)
        return LoginOutcome(None, locked=True)
    good = verify(password_hash, password)
    with _session(store, write=True) as session:
        if account is None:
            record_event(session, actor=name or "?", action="login-failed", at=now, note="unknown name")
            return LoginOutcome(None)
        if good:
            session.execute(
                update(UserRow)
                .where(UserRow.id == account.id)
                .values(failed_logins=0, locked_until=None, updated_at=now)
            )
            record_event(session, actor=name, action="login", at=now)
            return LoginOutcome(_account_after(account, failed=0, locked_until=None))
        failed = int(
            session.execute(
                update(UserRow)
                .where(UserRow.id == account.id)
                .values(failed_logins=UserRow.failed_logins + 1, updated_at=now)
                .returning(UserRow.failed_logins)
            ).scalar_one()
        )
        locked_until = None
        if failed >= LOCK_AFTER:
            locked_until = now + LOCK_FOR
            session.execute(update(UserRow).where(UserRow.id == account.id).values(locked_until=locked_until))
        record_event(
            session,
            actor=name,
            action="login-failed",
            at=now,
            after={
                "failed_logins": failed,
                "locked_until": locked_until.isoformat() if locked_until else None,
            },
        )
    return LoginOutcome(None, locked=locked_until is not None)


def _account_after(account: Account, *, failed: int, locked_until: datetime | None) -> Account:
    return Account(
        id=account.id,
        name=account.name,
        role=account.role,
        failed_logins=failed,
        locked_until=locked_until,
        language=account.language,
        created_at=account.created_at,
    )


def unlock(store: Store, user_id: int, *, actor: str) -> None:
    """Clear an account's throttle (an admin's action, audited)."""
    now = store.clock()
    with _session(store, write=True) as session:
        row = session.get(UserRow, user_id)
        if row is None:
            raise InputError(f"no user with id {user_id}")
        before = {"failed_logins": row.failed_logins, "locked_until": _iso(row.locked_until)}
        row.failed_logins, row.locked_until, row.updated_at = 0, None, now
        record_event(
            session, actor=actor, action="user-unlock", at=now, before=before, after={"name": row.name}
        )


def log_event(store: Store, *, actor: str, action: str, note: str = "") -> None:
    """Audit an action that concerns no thread and changes nothing else (a logout, an export)."""
    with _session(store, write=True) as session:
        record_event(session, actor=actor, action=action, at=store.clock(), note=note)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit rows to list: by actor, by action, newest first, a page at a time."""

    actor: str | None = None
    action: str | None = None
    review_item_id: int | None = None
    limit: int | None = 100
    offset: int = 0


def audit_rows(store: Store, query: AuditQuery) -> tuple[AuditRecord, ...]:
    """Audit rows matching `query`, newest first."""
    stmt = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).offset(query.offset)
    if query.actor:
        stmt = stmt.where(AuditRow.actor == query.actor)
    if query.action:
        stmt = stmt.where(AuditRow.action == query.action)
    if query.review_item_id is not None:
        stmt = stmt.where(AuditRow.review_item_id == query.review_item_id)
    if query.limit is not None:
        stmt = stmt.limit(query.limit)
    with _session(store, write=False) as session:
        return tuple(_record(row) for row in session.scalars(stmt))


def audit_actions(store: Store) -> Sequence[str]:
    """The distinct actions in the audit log, for the filter list."""
    with _session(store, write=False) as session:
        return tuple(
            a for a in session.scalars(select(AuditRow.action).distinct().order_by(AuditRow.action)) if a
        )


def _record(row: AuditRow) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action or "",
        thread_id=row.thread_id,
        review_item_id=row.review_item_id,
        from_status=row.from_status,
        to_status=row.to_status,
        note=row.note,
        before=row.before,
        after=row.after,
    )


def set_password(store: Store, name: str, password_hash: str, *, actor: str) -> Account:
    """Replace an account's password and clear its throttle (audited; the hash is not)."""
    now = store.clock()
    with _session(store, write=True) as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name.strip())).one_or_none()
        if row is None:
            raise InputError(f"no user named {name!r}")
        row.password_hash, row.failed_logins, row.locked_until, row.updated_at = password_hash, 0, None, now
        record_event(session, actor=actor, action="user-password", at=now, after={"name": row.name})
        return _account(row)
