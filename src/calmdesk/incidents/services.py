"""Every write to incidents goes through these functions.

An incident is drafted from its conversation (what happened, the customer's own words,
what the agent tried, the outcome); the agent completes the record; a supervisor works
it through open -> acknowledged -> action_taken -> closed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from calmdesk.accounts.models import Role, User
from calmdesk.accounts.time_zones import zone_or_none
from calmdesk.audit.services import audit_record
from calmdesk.conversations.models import Conversation, Direction, Message
from calmdesk.incidents.models import (
    Incident,
    IncidentAction,
    IncidentKind,
    IncidentNote,
    IncidentStatus,
)
from calmdesk.incidents.selectors import visible_incidents
from calmdesk.notifications.selectors import supervisors_to_notify
from calmdesk.notifications.services import notification_send

MAX_QUOTES: Final = 5
MAX_QUOTE_CHARS: Final = 280
MAX_NOTE_CHARS: Final = 10_000
STATUS_ORDER: Final[tuple[str, ...]] = (
    IncidentStatus.OPEN,
    IncidentStatus.ACKNOWLEDGED,
    IncidentStatus.ACTION_TAKEN,
    IncidentStatus.CLOSED,
)
# Which flags in the customer's messages are worth quoting for each kind of incident.
QUOTED_FLAGS: Final[dict[str, tuple[str, ...]]] = {
    IncidentKind.SAFETY: ("threat", "abuse"),
    IncidentKind.ABUSE: ("abuse", "threat", "profanity"),
    IncidentKind.LEGAL: ("legal",),
    IncidentKind.PUBLIC: ("public",),
    IncidentKind.CHURN: ("churn",),
}
TECHNIQUE_WORDS: Final[dict[str, str]] = {
    "apology": "apologised",
    "empathy": "acknowledged the customer's feelings",
    "paraphrase": "restated the problem in their own words",
    "question": "asked clarifying questions",
    "ownership": "took ownership",
    "next_step": "offered a concrete next step",
    "thanks": "thanked the customer",
}
_SENTENCE_END = re.compile(r"[.!?\n]")


class IncidentError(ValueError):
    """An incident operation that cannot be done as asked."""


class IncidentPermissionDenied(PermissionError):
    """The user's role or teams do not allow this operation on this incident."""


@dataclass(frozen=True)
class IncidentDraft:
    title: str
    summary: str
    customer_quotes: tuple[str, ...]
    agent_attempts: tuple[str, ...]
    outcome: str
    topic: str


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end], cut to a readable length around the span."""
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    right_match = _SENTENCE_END.search(text, end)
    right = right_match.end() if right_match else len(text)
    sentence = text[left:right].strip()
    if len(sentence) <= MAX_QUOTE_CHARS:
        return sentence
    evidence = text[start:end]
    room = max(0, (MAX_QUOTE_CHARS - len(evidence)) // 2)
    return f"…{text[max(0, start - room) : min(len(text), end + room)].strip()}…"


def customer_quotes(
    messages: Sequence[Message], kind: str, *, kinds: Sequence[str] | None = None
) -> tuple[str, ...]:
    """The customer's own words behind the flags that matter for `kind` (or `kinds`)."""
    wanted = tuple(kinds) if kinds is not None else QUOTED_FLAGS.get(kind, ())
    quotes: list[str] = []
    for message in messages:
        if message.direction != Direction.INBOUND:
            continue
        flags = (message.assessment or {}).get("flags") or []
        for flag in flags:
            if not isinstance(flag, dict) or flag.get("kind") not in wanted:
                continue
            start, end = flag.get("start"), flag.get("end")
            if not isinstance(start, int) or not isinstance(end, int):
                continue
            quote = _sentence_around(message.body_text, start, end)
            if quote and quote not in quotes:
                quotes.append(quote)
    if not quotes:
        # Nothing flagged (e.g. a complaint opened by hand): quote the latest customer words.
        for message in reversed(messages):
            if message.direction == Direction.INBOUND and message.body_text.strip():
                text = message.body_text.strip()
                quotes.append(
                    text if len(text) <= MAX_QUOTE_CHARS else text[:MAX_QUOTE_CHARS] + "…"
                )
                break
    return tuple(quotes[-MAX_QUOTES:])


def agent_attempts(messages: Sequence[Message]) -> list[str]:
    """What the agent tried, in plain sentences: replies, techniques used, the last reply."""
    replies = [m for m in messages if m.direction == Direction.OUTBOUND]
    if not replies:
        return ["No reply had been sent to the customer yet."]
    attempts = [f"The agent replied {len(replies)} time{'s' if len(replies) != 1 else ''}."]
    used: dict[str, None] = {}
    for reply in replies:
        techniques: Any = (reply.coaching or {}).get("techniques")
        if isinstance(techniques, dict):
            for key, value in techniques.items():
                # The coach scores techniques in [0, 1]; older callers may store booleans.
                if key in TECHNIQUE_WORDS and isinstance(value, int | float) and value >= 0.5:
                    used[TECHNIQUE_WORDS[key]] = None
    if used:
        attempts.append("In those replies the agent " + ", ".join(used) + ".")
    last = replies[-1].body_text.strip()
    if last:
        shown = last if len(last) <= MAX_QUOTE_CHARS else last[:MAX_QUOTE_CHARS] + "…"
        attempts.append(f'Last reply: "{shown}"')
    return attempts


def _where_and_when(conversation: Conversation, messages: Sequence[Message]) -> str:
    """The case in one line a record needs: channel, subject, customer, and when the customer
    last wrote, in the organisation's own time zone."""
    channel = conversation.get_channel_display()
    line = f'Where and when: {channel} conversation "{conversation}" with {conversation.customer}'
    latest = next((m for m in reversed(messages) if m.direction == Direction.INBOUND), None)
    if latest is None:
        return line + "."
    zone_name = conversation.organisation.time_zone
    zone = zone_or_none(zone_name)
    if zone is None:
        zone, zone_name = ZoneInfo("UTC"), "UTC"
    when = latest.created_at.astimezone(zone).strftime("%a %d %b %Y, %H:%M")
    return f"{line}; the customer last wrote on {when} ({zone_name})."


def incident_draft_from_conversation(
    *,
    conversation: Conversation,
    kind: str,
    reason: str,
    steps_taken: Sequence[str] = (),
    outcome: str = "",
) -> IncidentDraft:
    """Draft the record from the conversation itself so nobody has to retype it."""
    if kind not in IncidentKind.values:
        raise IncidentError(f"unknown incident kind {kind!r}")
    messages = list(conversation.messages.order_by("created_at", "id"))
    quotes = customer_quotes(messages, kind)
    attempts = (*agent_attempts(messages), *steps_taken)
    customer = str(conversation.customer)
    title = f"{IncidentKind(kind).label}: {customer}, {conversation}"[:200]
    outcome = outcome or f"The conversation is {conversation.get_status_display().lower()}."
    lines = [f"What happened: {reason}", _where_and_when(conversation, messages)]
    lines += ["", "In the customer's words:"]
    lines += [f'- "{quote}"' for quote in quotes] or ["- (no customer message)"]
    lines += ["", "What the agent tried:"]
    # The outcome is its own field (it changes as the incident is worked), not a line here.
    lines += [f"- {attempt}" for attempt in attempts]
    return IncidentDraft(
        title=title,
        summary="\n".join(lines),
        customer_quotes=quotes,
        agent_attempts=attempts,
        outcome=outcome,
        topic=conversation.topic,
    )


@transaction.atomic
def incident_open(
    *,
    conversation: Conversation,
    kind: str,
    reason: str,
    opened_by: User | None,
    steps_taken: Sequence[str] = (),
    outcome: str = "",
) -> Incident:
    """Open an incident drafted from the conversation, or return the one already open.

    One open incident per conversation and kind: a second insult adds to the record
    rather than filing a duplicate. Safety incidents notify supervisors at once.
    """
    if opened_by is not None and opened_by.organisation_id != conversation.organisation_id:
        raise IncidentPermissionDenied("the user works for another organisation")
    existing = (
        Incident.objects.select_for_update()
        .filter(conversation=conversation, kind=kind)
        .exclude(status=IncidentStatus.CLOSED)
        .first()
    )
    if existing is not None:
        IncidentNote.objects.create(incident=existing, author=opened_by, body=f"Again: {reason}")
        return existing
    draft = incident_draft_from_conversation(
        conversation=conversation,
        kind=kind,
        reason=reason,
        steps_taken=steps_taken,
        outcome=outcome,
    )
    incident = Incident.objects.create(
        organisation=conversation.organisation,
        conversation=conversation,
        customer=conversation.customer,
        team=conversation.team,
        kind=kind,
        title=draft.title,
        reason=reason[:200],
        topic=draft.topic,
        summary=draft.summary,
        customer_quotes=list(draft.customer_quotes),
        agent_attempts=list(draft.agent_attempts),
        outcome=draft.outcome,
        opened_by=opened_by,
    )
    audit_record(
        organisation=conversation.organisation,
        actor=opened_by,
        action="incident.opened",
        target_type="incident",
        target_id=incident.pk,
        data={"kind": kind, "conversation_id": conversation.pk, "reason": reason},
    )
    if kind == IncidentKind.SAFETY:
        notification_send(
            organisation=conversation.organisation,
            recipients=supervisors_to_notify(
                organisation=conversation.organisation, team=conversation.team
            ),
            kind="incident.safety",
            title=f"Safety incident: {conversation}",
            body=draft.summary,
            target_type="incident",
            target_id=incident.pk,
        )
    return incident


def _check_can_work(incident: Incident, actor: User) -> None:
    if actor.organisation_id != incident.organisation_id:
        raise IncidentPermissionDenied("the incident belongs to another organisation")
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise IncidentPermissionDenied("only supervisors and admins work incidents")
    if not visible_incidents(actor).filter(pk=incident.pk).exists():
        raise IncidentPermissionDenied("the incident belongs to another team")


def _check_can_see(incident: Incident, actor: User) -> None:
    if not visible_incidents(actor).filter(pk=incident.pk).exists():
        raise IncidentPermissionDenied("you cannot see this incident")


@transaction.atomic
def incident_transition(
    *, incident: Incident, actor: User, status: str, note: str = ""
) -> Incident:
    """Move the incident forward (steps may be skipped, never undone but by reopening)."""
    if status not in IncidentStatus.values:
        raise IncidentError(f"unknown incident status {status!r}")
    _check_can_work(incident, actor)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    before = incident.status
    reopening = before == IncidentStatus.CLOSED and status == IncidentStatus.OPEN
    if not reopening and STATUS_ORDER.index(status) <= STATUS_ORDER.index(before):
        raise IncidentError(f"an incident that is {before} cannot move to {status}")
    now = timezone.now()
    incident.status = status
    if status != IncidentStatus.OPEN and incident.acknowledged_at is None:
        incident.acknowledged_at = now
    incident.closed_at = now if status == IncidentStatus.CLOSED else None
    incident.save(update_fields=["status", "acknowledged_at", "closed_at", "updated_at"])
    if note.strip():
        _note_create(incident, actor, note)
    audit_record(
        organisation=incident.organisation,
        actor=actor,
        action="incident.status_changed",
        target_type="incident",
        target_id=incident.pk,
        data={"before": before, "after": status},
    )
    return incident


def _note_create(incident: Incident, actor: User, body: str) -> IncidentNote:
    body = body.strip()
    if not body:
        raise IncidentError("a note needs some text")
    if len(body) > MAX_NOTE_CHARS:
        raise IncidentError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    return IncidentNote.objects.create(incident=incident, author=actor, body=body)


@transaction.atomic
def incident_note_add(*, incident: Incident, actor: User, body: str) -> IncidentNote:
    _check_can_see(incident, actor)
    note = _note_create(incident, actor, body)
    audit_record(
        organisation=incident.organisation,
        actor=actor,
        action="incident.note_added",
        target_type="incident",
        target_id=incident.pk,
        data={"note_id": note.pk},
    )
    return note


@transaction.atomic
def incident_record_update(
    *, incident: Incident, actor: User, summary: str, outcome: str
) -> Incident:
    """The agent completes (or corrects) the drafted record; closed records are final."""
    _check_can_see(incident, actor)
    if incident.status == IncidentStatus.CLOSED:
        raise IncidentError("a closed incident cannot be changed; reopen it first")
    summary, outcome = summary.strip(), outcome.strip()
    if not summary:
        raise IncidentError("the record needs a summary")
    if len(summary) > MAX_NOTE_CHARS or len(outcome) > MAX_NOTE_CHARS:
        raise IncidentError(f"the record is longer than {MAX_NOTE_CHARS} characters")
    incident.summary = summary
    incident.outcome = outcome
    incident.save(update_fields=["summary", "outcome", "updated_at"])
    audit_record(
        organisation=incident.organisation,
        actor=actor,
        action="incident.record_updated",
        target_type="incident",
        target_id=incident.pk,
    )
    return incident


@transaction.atomic
def incident_action_add(*, incident: Incident, actor: User, description: str) -> IncidentAction:
    _check_can_work(incident, actor)
    description = description.strip()
    if not description:
        raise IncidentError("a follow-up action needs a description")
    if len(description) > 500:
        raise IncidentError("the action is longer than 500 characters")
    action = IncidentAction.objects.create(
        incident=incident, description=description, created_by=actor
    )
    audit_record(
        organisation=incident.organisation,
        actor=actor,
        action="incident.action_added",
        target_type="incident",
        target_id=incident.pk,
        data={"action_id": action.pk, "description": description},
    )
    return action


@transaction.atomic
def incident_action_complete(*, action: IncidentAction, actor: User) -> IncidentAction:
    _check_can_work(action.incident, actor)
    if action.done_at is None:
        action.done_at = timezone.now()
        action.save(update_fields=["done_at"])
        audit_record(
            organisation=action.incident.organisation,
            actor=actor,
            action="incident.action_done",
            target_type="incident",
            target_id=action.incident_id,
            data={"action_id": action.pk},
        )
    return action
