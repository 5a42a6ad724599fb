"""`calmdesk token create|list|revoke`: API tokens for scripts and channel integrations."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from calmdesk.cli._django import setup_django


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "token",
        help="create, list and revoke API tokens",
        description=(
            "API tokens act as one staff user and see what that user sees. The secret is "
            "printed once, when the token is created; only its hash is stored."
        ),
    )
    actions = parser.add_subparsers(dest="token_action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="issue a token for a staff user")
    create.add_argument("--user", required=True, metavar="NAME", help="the user's username")
    create.add_argument("--name", default="", metavar="LABEL", help="what the token is for")
    create.set_defaults(handler=run_create)

    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--user", default=None, metavar="NAME", help="only this user's tokens")
    listing.set_defaults(handler=run_list)

    revoke = actions.add_parser("revoke", help="revoke a token by id or prefix")
    revoke.add_argument("reference", metavar="ID|PREFIX")
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    setup_django()
    from calmdesk.accounts.models import User
    from calmdesk.api.services import TokenError, token_create

    user = User.objects.filter(username=args.user).first()
    if user is None:
        print(f"calmdesk token: there is no user named {args.user!r}", file=sys.stderr)
        return 1
    try:
        issued = token_create(user=user, name=args.name)
    except TokenError as exc:
        print(f"calmdesk token: {exc}", file=sys.stderr)
        return 1
    print(issued.secret)
    print(
        f"Token {issued.token.pk} (prefix {issued.token.prefix}) for {user.username}. "
        "Store it now: it cannot be shown again.",
        file=sys.stderr,
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    setup_django()
    from calmdesk.api.selectors import api_tokens

    rows = [("ID", "PREFIX", "USER", "NAME", "CREATED", "LAST USED", "STATUS")]
    for token in api_tokens(username=args.user):
        rows.append(
            (
                str(token.pk),
                token.prefix,
                token.user.username,
                token.name or "-",
                f"{token.created_at:%Y-%m-%d %H:%M}",
                f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
                "active" if token.revoked_at is None else f"revoked {token.revoked_at:%Y-%m-%d}",
            )
        )
    if len(rows) == 1:
        print("No API tokens." if args.user is None else f"No API tokens for {args.user}.")
        return 0
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    setup_django()
    from calmdesk.api.selectors import find_token
    from calmdesk.api.services import token_revoke

    token = find_token(args.reference)
    if token is None:
        print(f"calmdesk token: no token with id or prefix {args.reference!r}", file=sys.stderr)
        return 1
    was_revoked = token.revoked_at is not None
    token = token_revoke(token=token)
    if was_revoked:
        print(f"Token {token.pk} ({token.prefix}) was already revoked.")
    else:
        print(f"Revoked token {token.pk} ({token.prefix}) of {token.user.username}.")
    return 0
