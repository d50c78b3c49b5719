"""`gateway users …`: create and list the portal's accounts.

`add_commands(subparsers)` adds the `users` command to the gateway's parser.  The password
is asked twice on a terminal, or read from the first line of standard input otherwise
(`printf '%s\\n' "$PASSWORD" | gateway users create …`); it never appears in the arguments.
Exit codes: 0 done, 2 the account could not be created.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from gateway.portal.models import ROLES

EXIT_OK, EXIT_UNUSABLE = 0, 2


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise ValueError("The two passwords differ.")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def _create(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.portal.auth import AccountError, check_password_strength, create_user
    from gateway.store.session import Database
    from gateway.store.tenants import TenantError, get_tenant

    try:
        password = _read_password()
        check_password_strength(password)
        database = Database(load_config())
        with database.session() as session:
            user = create_user(session, get_tenant(session, args.tenant), args.email, args.role, password)
            print(f"portal user {user.email} created for tenant {args.tenant!r} as {user.role} (id {user.id})")
    except (AccountError, TenantError, ValueError) as exc:
        print(f"gateway: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.portal.auth import users_of
    from gateway.store.session import Database
    from gateway.store.tenants import TenantError, get_tenant

    database = Database(load_config())
    try:
        with database.session() as session:
            for user in users_of(session, get_tenant(session, args.tenant)):
                state = "disabled" if user.disabled_at else "active"
                last = user.last_sign_in_at.isoformat(timespec="seconds") if user.last_sign_in_at else "never signed in"
                print(f"{user.email}\t{user.role}\t{state}\t{last}")
    except TenantError as exc:
        print(f"gateway: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `users create|list` to the gateway's command parser."""
    users = subparsers.add_parser(
        "users",
        help="manage portal accounts",
        description="Create and list the accounts people sign in to the portal with.  The password is asked twice on a terminal, or "
        "read from the first line of standard input (printf '%s\\n' \"$PASSWORD\" | gateway users create …); it never appears in the "
        "arguments.  Exit 0 done, 2 the account could not be created.",
    )
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create",
        help="create a portal account",
        description="Create a portal account of a tenant; the password (12 characters or more) is prompted for, or read from stdin.",
    )
    create.add_argument("--tenant", required=True, metavar="NAME", help="the tenant's name")
    create.add_argument("--email", required=True, metavar="E", help="the person's e-mail address (their sign-in name)")
    create.add_argument(
        "--role", required=True, choices=ROLES, help="administrator, compliance-officer (reads everything, changes nothing) or operator"
    )
    create.set_defaults(func=_create)

    listing = actions.add_parser("list", help="list a tenant's portal accounts", description="List a tenant's portal accounts.")
    listing.add_argument("--tenant", required=True, metavar="NAME", help="the tenant's name")
    listing.set_defaults(func=_list)
