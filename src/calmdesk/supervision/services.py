"""The worker's recurring checks: follow-up reminders and overdue alerts, waiting-time rules.

The Tasks API has no scheduler, so the check task re-enqueues itself. Each run first
claims the interval with a conditional UPDATE (`next_run_at <= now`); a copy that loses
the claim (a second chain, a duplicate enqueue) stops there, so the chains collapse to
one and the checks run once per interval even with several workers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calmdesk.followups.services import followups_check
from calmdesk.policies.services import waiting_rules_check
from calmdesk.supervision.models import PeriodicCheck

CHECK_NAME: Final = "supervision"


def check_interval() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "CALMDESK_CHECK_INTERVAL_SECONDS", 60)))


def _enqueue(run_after: datetime | None) -> None:
    from calmdesk.supervision.tasks import run_periodic_checks

    task = run_periodic_checks.using(run_after=run_after) if run_after else run_periodic_checks
    task.enqueue()


def periodic_checks_ensure() -> None:
    """Start the chain (safe to call from every worker start: extra copies fold away)."""
    PeriodicCheck.objects.get_or_create(name=CHECK_NAME, defaults={"next_run_at": timezone.now()})
    transaction.on_commit(lambda: _enqueue(None))


def periodic_checks_run(*, now: datetime | None = None) -> dict[str, Any] | None:
    """Run the checks if this interval is still unclaimed; None when another run has it."""
    now = now or timezone.now()
    next_run = now + check_interval()
    with transaction.atomic():
        PeriodicCheck.objects.get_or_create(name=CHECK_NAME, defaults={"next_run_at": now})
        claimed = PeriodicCheck.objects.filter(name=CHECK_NAME, next_run_at__lte=now).update(
            next_run_at=next_run, last_run_at=now
        )
        if not claimed:
            return None
        # Enqueued before the work so the chain survives a failing check.
        transaction.on_commit(lambda: _enqueue(next_run))
    report: dict[str, Any] = {
        "followups": followups_check(now=now).to_dict(),
        "waiting_escalations": waiting_rules_check(now=now),
    }
    PeriodicCheck.objects.filter(name=CHECK_NAME).update(last_report=report)
    return report
