"""Fetching new mail from IMAP mailboxes (RFC 3501, standard library imaplib).

Polling reads the mailbox without changing it (BODY.PEEK, read-only select)
unless the mailbox is configured to mark mail as seen. Where it got to is kept
as UIDVALIDITY + last UID, and every email goes through the idempotent import,
so polling again, or after a crash half-way, stores nothing twice.
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import logging
import re
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from calmdesk.accounts.models import Organisation
from calmdesk.channels.conf import ImapMailbox, imap_mailboxes
from calmdesk.channels.models import ImapMailboxState, PollSchedule
from calmdesk.channels.services import ImportOutcome, email_import

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
DEFAULT_POLL_SECONDS = 60
SCHEDULE_NAME = "imap"
# Fetched per poll and mailbox, so one poll cannot run for ever on a backlog.
BATCH = 200


@dataclass(frozen=True)
class PollResult:
    mailbox: str
    fetched: int
    new: int
    duplicate: int
    machine: int
    error: str


def _is_loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (OSError, ValueError):
        return False


def imap_connect(mailbox: ImapMailbox) -> imaplib.IMAP4:
    """A logged-in connection; TLS unless the server is on this machine's loopback."""
    context = ssl.create_default_context(cafile=mailbox.ca_file or None)
    connection: imaplib.IMAP4
    if mailbox.security == "tls":
        connection = imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=context, timeout=TIMEOUT_SECONDS
        )
    else:
        if mailbox.security == "plain" and not _is_loopback(mailbox.host):
            raise ImproperlyConfigured(
                f"IMAP mailbox {mailbox.name!r}: unencrypted IMAP is only allowed on loopback"
            )
        connection = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
        if mailbox.security == "starttls":
            connection.starttls(ssl_context=context)
    connection.login(mailbox.username, mailbox.password())
    return connection


def _organisation_for(mailbox: ImapMailbox) -> Organisation:
    if mailbox.organisation:
        found = Organisation.objects.filter(slug=mailbox.organisation).first()
        if found is None:
            raise ImproperlyConfigured(
                f"IMAP mailbox {mailbox.name!r}: no organisation {mailbox.organisation!r}"
            )
        return found
    organisations = list(Organisation.objects.all()[:2])
    if len(organisations) != 1:
        raise ImproperlyConfigured(
            f"IMAP mailbox {mailbox.name!r}: say which organisation it belongs to"
        )
    return organisations[0]


def _uidvalidity(connection: imaplib.IMAP4) -> int | None:
    _, data = connection.response("UIDVALIDITY")
    for item in data or ():
        if isinstance(item, bytes) and item.strip().isdigit():
            return int(item)
    return None


def _fetched_bytes(data: list[object]) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def imap_poll(mailbox: ImapMailbox) -> PollResult:
    """Import every email that arrived in one mailbox since the last poll."""
    organisation = _organisation_for(mailbox)
    state, _ = ImapMailboxState.objects.get_or_create(name=mailbox.name)
    counts = {"fetched": 0, "new": 0, "duplicate": 0, "machine": 0}
    error = ""
    try:
        connection = imap_connect(mailbox)
        try:
            status, _ = connection.select(_quoted(mailbox.folder), readonly=not mailbox.mark_seen)
            if status != "OK":
                raise imaplib.IMAP4.error(f"cannot open folder {mailbox.folder!r}")
            uidvalidity = _uidvalidity(connection)
            if uidvalidity is not None and uidvalidity != state.uidvalidity:
                # The server renumbered the folder: read it all again; the
                # import recognises what it already has.
                state.uidvalidity = uidvalidity
                state.last_uid = 0
            _, data = connection.uid("SEARCH", f"UID {state.last_uid + 1}:*")
            uids = sorted(
                int(uid)
                for uid in (data[0] or b"").split()
                if uid.isdigit() and int(uid) > state.last_uid
            )
            for uid in uids[:BATCH]:
                _, fetched = connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
                raw = _fetched_bytes(list(fetched or []))
                if raw is None:
                    raise imaplib.IMAP4.error(f"UID {uid} could not be fetched")
                result = email_import(
                    organisation=organisation, raw=raw, source=f"imap:{mailbox.name}:{uid}"
                )
                counts["fetched"] += 1
                if result.outcome is ImportOutcome.NEW:
                    counts["new"] += 1
                elif result.outcome is ImportOutcome.DUPLICATE:
                    counts["duplicate"] += 1
                else:
                    counts["machine"] += 1
                if mailbox.mark_seen:
                    connection.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
                state.last_uid = uid
                state.save(update_fields=["uidvalidity", "last_uid"])
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                connection.logout()
    except (imaplib.IMAP4.error, OSError, ImproperlyConfigured) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        logger.warning("IMAP mailbox %s: %s", mailbox.name, error)
    state.last_polled_at = timezone.now()
    state.last_error = error
    state.save()
    return PollResult(mailbox=mailbox.name, error=error, **counts)


def _quoted(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_poll_all() -> list[PollResult]:
    return [imap_poll(mailbox) for mailbox in imap_mailboxes()]


def poll_interval() -> timedelta:
    seconds = int(getattr(settings, "CALMDESK_IMAP_POLL_SECONDS", 0) or DEFAULT_POLL_SECONDS)
    return timedelta(seconds=max(5, seconds))


def imap_polling_start() -> bool:
    """Start the worker's polling chain unless one is alive. True when a task was queued."""
    with transaction.atomic():
        schedule, _ = PollSchedule.objects.select_for_update().get_or_create(name=SCHEDULE_NAME)
        now = timezone.now()
        # A chain whose next run is overdue by more than two intervals has died
        # (worker stopped, task lost); anything else is still running.
        if schedule.next_run_at is not None and schedule.next_run_at > now - 2 * poll_interval():
            return False
        _enqueue_next(schedule, run_after=None)
        return True


def imap_poll_scheduled(*, task_id: str) -> list[PollResult]:
    """One run of the polling chain: poll, then queue the next run if this run is the chain's."""
    with transaction.atomic():
        schedule, _ = PollSchedule.objects.select_for_update().get_or_create(name=SCHEDULE_NAME)
        if schedule.task_id and schedule.task_id != task_id:
            return []  # a stray duplicate: the recorded task carries the chain
        if _backend_defers():
            # Claim the next run before polling, so a slow poll cannot make the chain look dead.
            _enqueue_next(schedule, run_after=timezone.now() + poll_interval())
    return imap_poll_all() if imap_mailboxes() else []


def _backend_defers() -> bool:
    """Whether the task backend can run a task later (the immediate one cannot: no chain)."""
    from calmdesk.channels.tasks import poll_imap_mailboxes

    return bool(poll_imap_mailboxes.get_backend().supports_defer)


def _enqueue_next(schedule: PollSchedule, *, run_after: datetime | None) -> None:
    from calmdesk.channels.tasks import poll_imap_mailboxes

    task = (
        poll_imap_mailboxes if run_after is None else poll_imap_mailboxes.using(run_after=run_after)
    )
    schedule.next_run_at = run_after or timezone.now()
    schedule.task_id = ""
    schedule.save(update_fields=["next_run_at", "task_id"])

    def enqueue() -> None:
        result = task.enqueue()
        PollSchedule.objects.filter(pk=schedule.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)
