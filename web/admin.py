"""``dispatch users ...``: account administration from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select

from domain.errors import DomainError
from domain.roles import Role
from domain.users import User
from storage import mapping as m
from storage import tables as t
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from web.cluster import announce_revocation
from web.security import hash_password
from web.settings import Settings


def _read_password(from_stdin: bool) -> str:
    """Never from the command line (the process list shows it): the first line of standard
    input with ``--password-stdin``, else a prompt that does not echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return getpass.getpass("password: ")


def _roles(names: list[str]) -> frozenset[Role]:
    try:
        return frozenset(Role(n) for n in names)
    except ValueError as error:
        valid = ", ".join(r.value for r in Role)
        raise DomainError(f"{error}; roles are: {valid}") from error


async def run_users_command(settings: Settings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.database_url)
    try:
        if args.users_command == "list":
            async with engine.connect() as conn:
                rows = (await conn.execute(select(t.users).order_by(t.users.c.username))).all()
            for row in rows:
                user = m.user_from_row(dict(row._mapping))
                roles = ",".join(sorted(r.value for r in user.roles))
                stores = ",".join(sorted(user.store_ids)) or "all stores"
                print(f"{user.username}\t{roles}\t{stores}\t{user.phone or '-'}")
            return 0
        async with SqlUnitOfWork(engine) as uow:
            if args.users_command == "create":
                password = _read_password(args.password_stdin)
                if len(password) < 8 and password != "demo":
                    print("a password needs at least 8 characters", file=sys.stderr)
                    return 1
                user = User(username=args.username, password_hash=hash_password(password),
                            roles=_roles(args.roles), store_ids=frozenset(args.stores),
                            technician_id=args.technician_id, phone=args.phone)
                uow.users.add(user)
                after = {"roles": args.roles, "phone": user.phone}
            else:
                found = await uow.users.by_username(args.username)
                if found is None:
                    print(f"no user {args.username}", file=sys.stderr)
                    return 1
                if args.users_command == "set-phone":
                    found.set_phone(args.phone)
                    after = {"phone": found.phone}
                elif args.users_command == "deactivate":
                    found.deactivate()
                    after = {"active": False}
                elif args.users_command == "activate":
                    found.activate()
                    after = {"active": True}
                elif args.users_command == "sign-out":
                    found.end_sessions()
                    after = {"token_version": found.token_version}
                else:
                    found.set_roles(_roles(args.roles),
                                    frozenset(args.stores) if args.stores is not None else None)
                    after = {"roles": args.roles}
            uow.audit(action=f"user.{args.users_command}", entity_type="user",
                      entity_id=args.username, before=None, after=after)
            await uow.commit()
        if args.users_command in {"deactivate", "sign-out", "set-roles"}:
            try:  # the web processes re-read at once (else within DELEGATION_REFRESH_SECONDS)
                await announce_revocation(settings)
            except Exception as error:  # committed already: only the at-once part is lost
                print(f"users: could not tell the web processes at once ({error})",
                      file=sys.stderr)
        print("done", file=sys.stderr)
        return 0
    except DomainError as error:
        print(f"users: {error.message}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
