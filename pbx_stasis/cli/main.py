"""`pbx`: run the service, migrate the database, check the set-up, manage users, print the
journal; each feature adds its own commands (its cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbx_stasis.cli.tokens import add_token_commands
from pbx_stasis.config import ConfigError, Settings, load_settings
from pbx_stasis.features import FEATURES
from pbx_stasis.store import commands

if TYPE_CHECKING:
    from pbx_stasis.store import Database

Command = Callable[[argparse.Namespace, Settings], int]
PACKAGE = Path(__file__).resolve().parents[1]
# Alembic's INFO lines on every read of the schema revision (not its "Running upgrade" lines).
_ALEMBIC_CHATTER = ("Context impl ", "Will assume ")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(Path(args.config) if args.config else None)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.cli import eventloop
    from pbx_stasis.cli.app_lock import AppInUse
    from pbx_stasis.cli.memory_report import MemoryReport
    from pbx_stasis.cli.run import AppTakenOver, RoleLost, serve

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        MemoryReport().install(loop)
        await serve(settings, stop, part=args.part)

    try:
        eventloop.run(main())
    except eventloop.UnknownLoop as exc:  # a setting: restarting cannot fix it
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except (AppInUse, AppTakenOver, RoleLost) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.store import migrate

    asyncio.run(migrate.upgrade(settings.database.url))
    revision = asyncio.run(migrate.current(settings.database.url))
    print(f"database at revision {revision}")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.check import run_checks

    problems = asyncio.run(run_checks(settings))
    for line in problems:
        print(f"problem: {line}", file=sys.stderr)
    if not problems:
        print(f"ok: configuration ({settings.source}), database and ARI reachable; Asterisk "
              "has the modules, run-time PJSIP objects and the trunk the app needs")
    return 1 if problems else 0


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.store import Directory, accounts
    from pbx_stasis.web.passwords import hash_password

    # The rules of the admin pages (store/accounts.py), checked before anything is written.
    try:
        username = accounts.username(args.username)
        tenant = accounts.tenant_slug(args.tenant)
        name = accounts.display_name(args.name) if args.name is not None else None
    except accounts.AccountInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    password = _password(args, username)
    # No password at all is allowed (no password login); one given must pass the rule.
    problem = accounts.password_problem(password) if password is not None else None
    if problem:
        print(f"error: password: {problem}", file=sys.stderr)
        return 2

    async def add(db: Database) -> int:
        user = await Directory(db).add_user(
            tenant,
            username,
            args.role,
            display_name=name,
            password_hash=hash_password(password) if password is not None else None,
        )
        print(f"added {user.role} {user.username!r} (id {user.id}) to tenant {tenant!r}")
        return 0

    return commands.with_database(settings.database.url, add)


def _password_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password", help="password (prefer --password-stdin)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from stdin")


def _password(args: argparse.Namespace, username: str) -> str | None:
    """--password, else one line of stdin (--password-stdin), else asked on a terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password is None and sys.stdin.isatty():
        return getpass.getpass(f"password for {username}: ")
    return str(args.password) if args.password is not None else None


def cmd_user_password(args: argparse.Namespace, settings: Settings) -> int:
    """A new password for a user (the way back in for an admin who forgot theirs): checked by
    the admin pages' rule; their browser sessions end, as when an admin changes it there."""
    from pbx_stasis.store import Directory, accounts, utc_now
    from pbx_stasis.web.passwords import hash_password
    from pbx_stasis.web.sessions import SessionPolicy, Sessions

    try:
        username = accounts.username(args.username)
        tenant_slug = accounts.tenant_slug(args.tenant)
    except accounts.AccountInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    password = _password(args, username)
    if password is None:
        print("error: password: is required (--password-stdin)", file=sys.stderr)
        return 2
    problem = accounts.password_problem(password)
    if problem:
        print(f"error: password: {problem}", file=sys.stderr)
        return 2

    async def change(db: Database) -> int:
        directory = Directory(db)
        tenant = await directory.get_tenant_by_slug(tenant_slug)
        user = None if tenant is None else await directory.get_user(tenant.id, username)
        if user is None:
            print(f"error: no user {username!r} in tenant {tenant_slug!r}", file=sys.stderr)
            return 1
        await directory.set_password_hash(user.id, hash_password(password))
        ended = await Sessions(db, SessionPolicy(), utc_now).close_all(user.id)
        print(f"password of {user.role} {user.username!r} changed; "
              f"{len(ended)} browser session(s) ended")
        return 0

    return commands.with_database(settings.database.url, change)


def cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.store import Directory, accounts

    try:
        tenant_slug = accounts.tenant_slug(args.tenant)
    except accounts.AccountInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def show(db: Database) -> int:
        tenant_id = await commands.tenant_id(db, tenant_slug)
        if tenant_id is None:
            return 1
        for user in await Directory(db).list_users(tenant_id):
            state = "disabled" if user.disabled else (
                "active" if user.password_hash else "no password")
            print(f"{user.id}\t{user.username}\t{user.role}\t{state}\t{user.display_name}")
        return 0

    return commands.with_database(settings.database.url, show)


def cmd_journal(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.store import CallJournal

    async def show(db: Database) -> int:
        journal = CallJournal(db)
        rows = await journal.events_after(0, limit=1_000_000)
        last = rows[-args.tail:] if args.tail else rows
        after = last[-1].id if last else 0
        for row in last:
            print(_journal_text(row))
        while args.follow:
            await asyncio.sleep(1)
            for row in await journal.events_after(after):
                print(_journal_text(row), flush=True)
                after = row.id
        return 0

    return commands.with_database(settings.database.url, show)


def _journal_text(row: Any) -> str:
    return (f"{row.at:%Y-%m-%d %H:%M:%S.%f} {row.event:<16} call={row.call_id or '-'} "
            f"queue={row.queue or '-'} agent={row.agent_user_id or '-'} {json.dumps(row.data)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pbx", description=__doc__)
    parser.add_argument("--config", help="path to pbx.toml (default: ./pbx.toml or $PBX_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the Stasis app and the web sidecar")
    run.add_argument("--part", choices=["all", "stasis", "web"], default="all",
                     help="all in one process (default), or one half of a split deployment "
                          "(web.rpc_url / PBX_RPC_URL, web.rpc_secret / PBX_RPC_SECRET)")
    run.set_defaults(func=cmd_run)
    sub.add_parser("migrate", help="create or upgrade the database tables").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser(
        "check", help="validate the configuration, reach the database and ARI"
    ).set_defaults(func=cmd_check)

    user = sub.add_parser("user", help="manage users").add_subparsers(
        dest="user_command", required=True, metavar="ACTION"
    )
    add = user.add_parser("add", help="add a user (and its tenant if new)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["agent", "supervisor", "manager", "admin"])
    commands.tenant_argument(add)
    add.add_argument("--name", help="display name")
    _password_arguments(add)
    add.set_defaults(func=cmd_user_add)
    password = user.add_parser(
        "password", help="give a user a new password (their browser sessions end)")
    password.add_argument("username")
    commands.tenant_argument(password)
    _password_arguments(password)
    password.set_defaults(func=cmd_user_password)
    listed = user.add_parser("list", help="a tenant's users: id, name, role, state")
    commands.tenant_argument(listed)
    listed.set_defaults(func=cmd_user_list)

    add_token_commands(sub)

    journal = sub.add_parser("journal", help="print the journal (call_events)")
    journal.add_argument("--tail", type=int, default=50, help="last N rows (0: all)")
    journal.add_argument("-f", "--follow", action="store_true", help="keep printing new rows")
    journal.set_defaults(func=cmd_journal)

    # Each feature's own commands: its cli.py's add_commands, without its plugin (the web side).
    for feature in FEATURES:
        if (PACKAGE / feature / "cli.py").is_file():
            import_module(f"pbx_stasis.{feature}.cli").add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # Alembic lists its plugins at INFO on every start
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        # ...and its dialect on every read of the schema revision (`pbx check`, `pbx run`); its
        # "Running upgrade a -> b" lines stay.
        logging.getLogger("alembic.runtime.migration").addFilter(
            lambda record: not record.getMessage().startswith(_ALEMBIC_CHATTER))
    try:
        settings = _settings(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    func: Command = args.func
    try:
        return func(args, settings)
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line instead of a traceback for known errors
        from pbx_stasis.ari import AriError
        from pbx_stasis.store import StoreError

        if isinstance(exc, StoreError | AriError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, OSError) and exc.filename is not None:  # a path given to a command
            print(f"error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
