"""Background work for follow-ups: thin wrappers that call a service."""

from __future__ import annotations

from django_tasks import task

from calmdesk.followups.services import followups_check


@task()
def check_followups() -> dict[str, list[int]]:
    return followups_check().to_dict()
