"""Follow-ups: creating them (by hand or from promises in sent replies) and checking them.

`followups_check` is run by the worker. Each reminder and each overdue alert is claimed
with a conditional UPDATE (`... WHERE reminded_at IS NULL`), so any number of workers can
run the check at the same moment and every alert still goes out exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from calmdesk.accounts.models import User
from calmdesk.audit.services import audit_record
from calmdesk.conversations.models import Conversation, Direction, Message
from calmdesk.followups.models import FollowUp, FollowUpSource, FollowUpState
from calmdesk.notifications.selectors import supervisors_to_notify
from calmdesk.notifications.services import notification_send

MAX_DESCRIPTION_CHARS: Final = 500
# A promise without a time the coach could resolve still deserves a follow-up.
DEFAULT_PROMISE_DELAY: Final = timedelta(hours=24)


class FollowUpError(ValueError):
    """A follow-up operation that cannot be done as asked."""


def remind_before() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "CALMDESK_FOLLOWUP_REMIND_MINUTES", 30)))


def _schedule_checks(followup: FollowUp) -> None:
    """Ask the worker to run the check when the reminder and the due time come round."""
    from calmdesk.followups.tasks import check_followups

    moments = sorted({followup.due_at - remind_before(), followup.due_at})
    now = timezone.now()

    def enqueue() -> None:
        for moment in moments:
            task = check_followups.using(run_after=moment) if moment > now else check_followups
            task.enqueue()

    transaction.on_commit(enqueue)


@transaction.atomic
def followup_create(
    *,
    conversation: Conversation,
    due_at: datetime,
    description: str,
    created_by: User | None,
    source: str = FollowUpSource.MANUAL,
    promise_message: Message | None = None,
) -> FollowUp:
    description = " ".join(description.split())
    if not description:
        raise FollowUpError("a follow-up needs a description")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise FollowUpError(f"the description is longer than {MAX_DESCRIPTION_CHARS} characters")
    if timezone.is_naive(due_at):
        raise FollowUpError("the due time needs a time zone")
    if source not in FollowUpSource.values:
        raise FollowUpError(f"unknown follow-up source {source!r}")
    if created_by is not None and created_by.organisation_id != conversation.organisation_id:
        raise FollowUpError("the user works for another organisation")
    if promise_message is not None and promise_message.conversation_id != conversation.pk:
        raise FollowUpError("the promise was made in another conversation")
    followup = FollowUp.objects.create(
        organisation_id=conversation.organisation_id,
        conversation=conversation,
        due_at=due_at,
        description=description,
        created_by=created_by,
        source=source,
        promise_message=promise_message,
        promised_at=promise_message.created_at if promise_message else timezone.now(),
    )
    audit_record(
        organisation=conversation.organisation,
        actor=created_by,
        action="followup.created",
        target_type="conversation",
        target_id=conversation.pk,
        data={"followup_id": followup.pk, "due_at": due_at.isoformat(), "source": source},
    )
    _schedule_checks(followup)
    return followup


def _promise_due(promise: dict[str, Any], sent_at: datetime) -> datetime:
    for key in ("due_at", "due"):
        value = promise.get(key)
        if isinstance(value, str):
            parsed = parse_datetime(value)
            if parsed is not None:
                return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    return sent_at + DEFAULT_PROMISE_DELAY


def _promise_text(promise: dict[str, Any]) -> str:
    for key in ("text", "evidence", "description", "phrase"):
        value = promise.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_DESCRIPTION_CHARS]
    return "Get back to the customer as promised"


def followups_from_reply(*, message: Message) -> list[FollowUp]:
    """One follow-up per promise the reply coach found in a sent reply."""
    if message.direction != Direction.OUTBOUND or not isinstance(message.coaching, dict):
        return []
    promises = message.coaching.get("promises")
    if not isinstance(promises, list):
        return []
    return [
        followup_create(
            conversation=message.conversation,
            due_at=_promise_due(promise, message.created_at),
            description=_promise_text(promise),
            created_by=message.author,
            source=FollowUpSource.PROMISE,
            promise_message=message,
        )
        for promise in promises
        if isinstance(promise, dict)
    ]


@transaction.atomic
def followup_close(*, followup: FollowUp, actor: User, state: str = FollowUpState.DONE) -> FollowUp:
    if state not in (FollowUpState.DONE, FollowUpState.CANCELLED):
        raise FollowUpError("a follow-up is closed as done or cancelled")
    if actor.organisation_id != followup.organisation_id:
        raise FollowUpError("the follow-up belongs to another organisation")
    if followup.state != FollowUpState.OPEN:
        return followup
    followup.state = state
    followup.done_at = timezone.now()
    followup.save(update_fields=["state", "done_at"])
    audit_record(
        organisation=followup.organisation,
        actor=actor,
        action=f"followup.{state}",
        target_type="conversation",
        target_id=followup.conversation_id,
        data={"followup_id": followup.pk},
    )
    return followup


@dataclass(frozen=True)
class CheckReport:
    reminded: tuple[int, ...]
    overdue: tuple[int, ...]
    kept: tuple[int, ...]

    def to_dict(self) -> dict[str, list[int]]:
        return {
            "reminded": list(self.reminded),
            "overdue": list(self.overdue),
            "kept": list(self.kept),
        }


def _replied_since_promise() -> Exists:
    return Exists(
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"),
            direction=Direction.OUTBOUND,
            created_at__gt=OuterRef("promised_at"),
        )
    )


def _people_to_tell(followup: FollowUp) -> list[User]:
    conversation = followup.conversation
    for person in (conversation.assignee, followup.created_by):
        if person is not None and person.is_active:
            return [person]
    return supervisors_to_notify(organisation=followup.organisation, team=conversation.team)


def _remind(followup_id: int, now: datetime) -> bool:
    with transaction.atomic():
        claimed = FollowUp.objects.filter(
            pk=followup_id, state=FollowUpState.OPEN, reminded_at__isnull=True
        ).update(reminded_at=now)
        if not claimed:
            return False
        followup = FollowUp.objects.select_related(
            "conversation__assignee", "conversation__team", "created_by", "organisation"
        ).get(pk=followup_id)
        local_due = timezone.localtime(followup.due_at)
        notification_send(
            organisation=followup.organisation,
            recipients=_people_to_tell(followup),
            kind="followup.reminder",
            title=f"Follow-up due {local_due:%H:%M}: {followup.conversation}",
            body=f"You promised: {followup.description}",
            target_type="conversation",
            target_id=followup.conversation_id,
        )
        audit_record(
            organisation=followup.organisation,
            actor=None,
            action="followup.reminded",
            target_type="conversation",
            target_id=followup.conversation_id,
            data={"followup_id": followup.pk},
        )
        return True


def _raise_overdue(followup_id: int, now: datetime) -> bool:
    with transaction.atomic():
        # The no-reply condition is part of the claim, so a reply that lands while the
        # check runs is never reported as missing.
        claimed = (
            FollowUp.objects.filter(
                pk=followup_id,
                state=FollowUpState.OPEN,
                overdue_raised_at__isnull=True,
                due_at__lte=now,
            )
            .exclude(_replied_since_promise())
            .update(overdue_raised_at=now)
        )
        if not claimed:
            return False
        followup = FollowUp.objects.select_related(
            "conversation__assignee", "conversation__team", "created_by", "organisation"
        ).get(pk=followup_id)
        people = {user.pk: user for user in _people_to_tell(followup)}
        for supervisor in supervisors_to_notify(
            organisation=followup.organisation, team=followup.conversation.team
        ):
            people.setdefault(supervisor.pk, supervisor)
        notification_send(
            organisation=followup.organisation,
            recipients=people.values(),
            kind="followup.overdue",
            title=f"Overdue follow-up: {followup.conversation}",
            body=(
                f"The customer was promised: {followup.description.rstrip('.')}. The time has passed "
                "and nobody has written to them since. Let them know where things stand, "
                "even if the problem is not fixed yet."
            ),
            target_type="conversation",
            target_id=followup.conversation_id,
        )
        audit_record(
            organisation=followup.organisation,
            actor=None,
            action="followup.overdue",
            target_type="conversation",
            target_id=followup.conversation_id,
            data={"followup_id": followup.pk},
        )
        return True


def _mark_kept(followup_id: int, now: datetime) -> bool:
    with transaction.atomic():
        claimed = (
            FollowUp.objects.filter(pk=followup_id, state=FollowUpState.OPEN, due_at__lte=now)
            .filter(_replied_since_promise())
            .update(state=FollowUpState.DONE, done_at=now)
        )
        if not claimed:
            return False
        followup = FollowUp.objects.get(pk=followup_id)
        audit_record(
            organisation=followup.organisation,
            actor=None,
            action="followup.kept",
            target_type="conversation",
            target_id=followup.conversation_id,
            data={"followup_id": followup.pk},
        )
        return True


def followups_check(*, now: datetime | None = None) -> CheckReport:
    """Send due reminders, raise overdue follow-ups, and close those the customer heard back on."""
    now = now or timezone.now()
    open_followups = FollowUp.objects.filter(state=FollowUpState.OPEN)
    due = open_followups.filter(due_at__lte=now)
    kept = [
        pk
        for pk in due.filter(_replied_since_promise()).values_list("pk", flat=True)
        if _mark_kept(pk, now)
    ]
    overdue_ids = due.filter(overdue_raised_at__isnull=True).exclude(_replied_since_promise())
    overdue = [pk for pk in overdue_ids.values_list("pk", flat=True) if _raise_overdue(pk, now)]
    soon = open_followups.filter(
        reminded_at__isnull=True, due_at__gt=now, due_at__lte=now + remind_before()
    )
    reminded = [pk for pk in soon.values_list("pk", flat=True) if _remind(pk, now)]
    return CheckReport(reminded=tuple(reminded), overdue=tuple(overdue), kept=tuple(kept))
