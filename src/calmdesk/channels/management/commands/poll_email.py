"""`calmdesk manage poll_email [--every SECONDS]`: fetch new mail from the IMAP mailboxes.

Once by default; with --every it keeps polling. Each round also sends email
replies and webhook deliveries whose retry time has come (for task backends
that cannot schedule tasks for later).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from calmdesk.channels.conf import imap_mailboxes


class Command(BaseCommand):
    help = "Fetch new mail from the configured IMAP mailboxes (CALMDESK_IMAP_*)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, default=None, help="keep polling, this many seconds apart"
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="let `calmdesk worker` poll from now on (every CALMDESK_IMAP_POLL_SECONDS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not imap_mailboxes():
            raise CommandError(
                "no IMAP mailbox is configured: set CALMDESK_IMAP_HOST (and _USER, "
                "CALMDESK_IMAP_PASSWORD) or CALMDESK_IMAP_MAILBOXES"
            )
        if options["enqueue"]:
            from calmdesk.channels.imap import imap_polling_start, poll_interval

            if imap_polling_start():
                self.stdout.write(
                    f"the worker will poll every {int(poll_interval().total_seconds())} s"
                )
            else:
                self.stdout.write("the worker is already polling")
            return
        every: float | None = options["every"]
        if every is not None and every < 1:
            raise CommandError("--every must be at least 1 second")
        while True:
            failed = self._poll_once()
            if every is None:
                if failed:
                    raise CommandError("some mailboxes could not be polled")
                return
            time.sleep(every)

    def _poll_once(self) -> bool:
        from calmdesk.channels.imap import imap_poll_all
        from calmdesk.channels.services import email_deliveries_retry_due
        from calmdesk.channels.webhooks import webhook_deliveries_retry_due

        failed = False
        for result in imap_poll_all():
            if result.error:
                failed = True
                self.stderr.write(f"{result.mailbox}: {result.error}")
            else:
                self.stdout.write(
                    f"{result.mailbox}: {result.fetched} fetched, {result.new} new, "
                    f"{result.duplicate} duplicate, {result.machine} automatic"
                )
        email_deliveries_retry_due()
        webhook_deliveries_retry_due()
        return failed
