"""`calmdesk manage schedule_checks`: start the recurring supervision checks.

Safe to run at every worker start and on every machine: surplus copies of the check task
lose the per-interval claim and stop, so one chain keeps running.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from calmdesk.supervision.services import periodic_checks_ensure


class Command(BaseCommand):
    help = "Queue the recurring checks (follow-up reminders, overdue alerts, waiting-time rules)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            periodic_checks_ensure()
        self.stdout.write("Recurring supervision checks queued.")
