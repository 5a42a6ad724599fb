from __future__ import annotations

from typing import Any

from calmdesk.accounts.models import Organisation, User
from calmdesk.audit.models import AuditEvent
from calmdesk.lean_writes import insert


def audit_record(
    *,
    organisation: Organisation,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        organisation=organisation,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=data or {},
    )
    # Written on most request paths, some several times a request: the cached INSERT.
    insert(event)
    return event
