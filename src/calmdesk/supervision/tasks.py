"""Background work for supervision: the recurring checks."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from calmdesk.supervision.services import periodic_checks_run


@task()
def run_periodic_checks() -> dict[str, Any] | None:
    return periodic_checks_run()
