from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from calmdesk.accounts.models import Organisation, User
from calmdesk.audit.models import AuditEvent
from calmdesk.lean_writes import insert, insert_many


def audit_record(
    *,
    organisation: Organisation,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    event = audit_event_new(
        organisation=organisation,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=data,
    )
    # Written on most request paths, some several times a request: the cached INSERT.
    insert(event)
    return event


def audit_event_new(
    *,
    organisation: Organisation,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """An audit event not written yet: for a service that records several at once."""
    return AuditEvent(
        organisation=organisation,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=data or {},
    )


def audit_events_record(events: Sequence[AuditEvent]) -> None:
    """Write events made by `audit_event_new`, in order, in one statement."""
    insert_many(events)
