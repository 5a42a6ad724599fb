"""`calmdesk import-email FILE.eml|DIR|MBOX|- [--org SLUG]`: import raw emails.

"-" reads one email from standard input, so a mail server can deliver to
calmdesk through a pipe (Postfix: `support: "|calmdesk import-email - --org acme"`).

Prints one line per email: the conversation id, the message id ("-" when the
email did not become a message) and the outcome (new, duplicate, auto-reply,
bounce, or rejected when it has no sender to answer).
"""

from __future__ import annotations

import argparse
import mailbox
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from calmdesk.cli._django import setup_django


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "import-email",
        help="import raw emails from a .eml file, a directory, a Maildir or an mbox file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "path", type=Path, help="a .eml file, a directory of them, a Maildir or an mbox"
    )
    parser.add_argument("--org", help="organisation slug (needed when there is more than one)")
    parser.set_defaults(handler=run)


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def iter_raw_emails(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) for every email under the path, in a stable order."""
    if str(path) == "-":
        yield "stdin", sys.stdin.buffer.read()
        return
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            maildir = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(maildir.keys()):
                yield f"{path}:{key}", maildir.get_bytes(key)
            return
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            yield from iter_raw_emails(child)
        return
    if _is_mbox(path):
        box = mailbox.mbox(path, factory=None, create=False)
        try:
            for position, key in enumerate(box.keys(), 1):
                yield f"{path}#{position}", box.get_bytes(key)
        finally:
            box.close()
        return
    yield str(path), path.read_bytes()


def run(args: argparse.Namespace) -> int:
    path: Path = args.path
    if str(path) != "-" and not path.exists():
        print(f"import-email: {path} does not exist", file=sys.stderr)
        return 2
    setup_django()
    from calmdesk.accounts.models import Organisation
    from calmdesk.channels.services import email_import

    if args.org:
        organisation = Organisation.objects.filter(slug=args.org).first()
        if organisation is None:
            print(f"import-email: no organisation with slug {args.org!r}", file=sys.stderr)
            return 2
    else:
        organisations = list(Organisation.objects.order_by("id")[:2])
        if len(organisations) != 1:
            print(
                "import-email: there is no organisation"
                if not organisations
                else "import-email: several organisations exist; choose one with --org SLUG",
                file=sys.stderr,
            )
            return 2
        organisation = organisations[0]

    failures = 0
    try:
        for label, raw in iter_raw_emails(path):
            try:
                result = email_import(organisation=organisation, raw=raw, source=label[:200])
            except Exception as exc:  # one bad email must not stop the rest
                failures += 1
                print(f"import-email: {label}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            conversation = result.conversation_id if result.conversation_id is not None else "-"
            message = result.message_id if result.message_id is not None else "-"
            print(f"{conversation} {message} {result.outcome}", flush=True)
    except OSError as exc:
        print(f"import-email: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    return 1 if failures else 0
