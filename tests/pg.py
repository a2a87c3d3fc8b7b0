"""A private PostgreSQL server for the tests (the recipe in TESTING.md), or the one TRIAGEBOT_TEST_PG_URL names.

`start_server()` runs initdb into a temporary directory as the `postgres` user, starts `pg_ctl` on a free
127.0.0.1 port with fsync off, and hands back a `PgServer` that creates a fresh database per test and
stops the server at the end (a server left behind by a session that was killed is stopped by the next one).
Anything that goes wrong raises `PgUnavailable` with the command, its output
and what to install: the tests fail with that message, they never skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ENV_URL = "TRIAGEBOT_TEST_PG_URL"
PREFIX = "triagebot-pg-"
HINT = (
    "PostgreSQL is needed for these tests: install it (apt-get install postgresql) and run the tests as "
    f"root, or point {ENV_URL} at a server where the user may create databases"
)


class PgUnavailable(RuntimeError):
    """PostgreSQL could not be started or reached; the message says why and what to do."""


def _bindir() -> Path:
    """The newest /usr/lib/postgresql/*/bin that has initdb."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.parent.name.split(".")],
    )
    if not candidates:
        found = shutil.which("initdb")
        if found is None:
            raise PgUnavailable(f"initdb not found. {HINT}")
        return Path(found).parent
    return candidates[-1].parent


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(argv: list[str], *, as_postgres: bool) -> None:
    """Run a PostgreSQL tool (as the postgres user when we are root); raise PgUnavailable on failure."""
    if as_postgres:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PgUnavailable(f"{' '.join(argv)}: {exc}. {HINT}") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise PgUnavailable(f"{' '.join(argv)} failed ({done.returncode}): {output}. {HINT}")


@dataclass
class PgServer:
    """A reachable server: `admin_url` may create databases; `stop()` ends a server we started."""

    admin_url: str
    root: Path | None = None  # set when we started the server ourselves
    bindir: Path | None = None
    created: list[str] = field(default_factory=list)

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit libpq connection as the admin user."""
        url = make_url(self.admin_url)
        return psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            dbname=url.database,
            autocommit=True,
            connect_timeout=10,
        )

    def fresh_database(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        try:
            with self._connect() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            raise PgUnavailable(f"cannot create a test database on {self.admin_url}: {exc}. {HINT}") from None
        self.created.append(name)
        url = make_url(self.admin_url).set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    def stop(self) -> None:
        """Drop the databases we made on a shared server, or stop and delete our own server."""
        if self.root is None:
            try:
                with self._connect() as conn:
                    for name in self.created:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error:
                pass  # the server is shared: leftovers are harmless, failing the session is not
            return
        bindir = self.bindir or _bindir()
        _run(
            [str(bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
            as_postgres=os.geteuid() == 0,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    """True if a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphans(bindir: Path) -> None:
    """Stop private servers whose test session died without its teardown (killed, timed out)."""
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = root / "owner.pid"
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if _alive(pid):
            continue
        if (root / "data" / "postmaster.pid").exists():
            try:
                _run(
                    [str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"],
                    as_postgres=os.geteuid() == 0,
                )
            except PgUnavailable:
                continue
        shutil.rmtree(root, ignore_errors=True)


def start_server() -> PgServer:
    """Use TRIAGEBOT_TEST_PG_URL when set; otherwise start a private server (about a second)."""
    given = os.environ.get(ENV_URL)
    if given:
        server = PgServer(admin_url=given)
        try:
            with server._connect():
                pass
        except psycopg.Error as exc:
            raise PgUnavailable(f"{ENV_URL}={given!r} is not reachable: {exc}") from None
        return server
    bindir = _bindir()
    _reap_orphans(bindir)
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    (root / "owner.pid").write_text(str(os.getpid()))
    as_root = os.geteuid() == 0
    (root / "data").mkdir()
    (root / "sock").mkdir()
    if as_root:
        shutil.chown(root, "postgres", "postgres")
        for sub in ("data", "sock"):
            shutil.chown(root / sub, "postgres", "postgres")
    port = _free_port()
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            as_postgres=as_root,
        )
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(root / "data"),
                "-l",
                str(root / "log"),
                "-w",
                "-o",
                f"-c listen_addresses=127.0.0.1 -p {port} -k {root / 'sock'} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off",
                "start",
            ],
            as_postgres=as_root,
        )
    except PgUnavailable as exc:
        log = root / "log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise PgUnavailable(f"{exc}\n{detail}".strip()) from None
    return PgServer(
        admin_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", root=root, bindir=bindir
    )
