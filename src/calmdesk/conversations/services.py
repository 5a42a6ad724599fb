"""Every write to conversations and messages goes through these functions."""

from __future__ import annotations

from dataclasses import dataclass

import nh3
from django.db import IntegrityError, transaction
from django.utils import timezone

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.audit.services import audit_record
from calmdesk.conversations.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    Priority,
    Status,
)
from calmdesk.conversations.reading import assess_for_storage, risk_from_scores, stored_history
from calmdesk.customers.models import Customer
from calmdesk.customers.services import customer_and_identities_find_or_create
from calmdesk.followups.services import followups_from_reply
from calmdesk.lean_reads import JoinedRead, Link
from calmdesk.lean_writes import insert, update

MAX_BODY_CHARS = 200_000
MAX_SUBJECT_CHARS = 300


class ConversationError(ValueError):
    """A conversation operation that cannot be done as asked."""


class ConversationMismatch(ConversationError):
    """The message names a conversation that is not this customer's or not this organisation's."""


class ConversationNotFound(ConversationMismatch):
    """The message names a conversation this organisation does not have."""


@dataclass(frozen=True)
class ReceiveResult:
    message: Message
    conversation: Conversation
    customer: Customer
    created: bool


# Remote images are dropped as well: opening an email must not tell its sender
# (or a tracker) that an agent read it. `map`/`area` only make sense with images.
SAFE_HTML_TAGS = frozenset(nh3.ALLOWED_TAGS - {"img", "map", "area"})


def sanitise_html(html: str) -> str:
    """Customer HTML with scripts, styles, handlers, images and dangerous URLs removed."""
    if not html:
        return ""
    return nh3.clean(html, tags=set(SAFE_HTML_TAGS), link_rel="noopener noreferrer nofollow")


def inbound_message_receive(
    *,
    organisation: Organisation,
    channel: str,
    external_id: str,
    body_text: str,
    body_html: str = "",
    customer_email: str | None = None,
    customer_handle: str | None = None,
    customer_name: str = "",
    subject: str = "",
    conversation_id: int | None = None,
    team: Team | None = None,
) -> ReceiveResult:
    """Store a customer's message once, however many times it is delivered.

    The (organisation, channel, external_id) triple is unique in the database.
    Everything is written in one transaction; when the message is already stored
    (a redelivery, or a concurrent delivery that won the race), our whole transaction
    (customer, conversation) is rolled back and the stored message is returned instead.
    """
    if channel not in Channel.values:
        raise ConversationError(f"unknown channel {channel!r}")
    if not external_id or not external_id.strip():
        raise ConversationError("external_id must not be empty")
    if len(body_text) > MAX_BODY_CHARS:
        raise ConversationError(f"the message body is longer than {MAX_BODY_CHARS} characters")
    if not body_text.strip() and not body_html.strip():
        raise ConversationError("the message body is empty")

    # No look-up before the write: a redelivery is rare, and the unique triple catches it
    # (the whole transaction is rolled back and the stored message answered), so the
    # common first delivery does not pay for a query that answers "no".
    try:
        with transaction.atomic():
            return _receive_new(
                organisation=organisation,
                channel=channel,
                external_id=external_id,
                body_text=body_text,
                body_html=body_html,
                customer_email=customer_email,
                customer_handle=customer_handle,
                customer_name=customer_name,
                subject=subject,
                conversation_id=conversation_id,
                team=team,
            )
    except (IntegrityError, ConversationError):
        # A redelivery is answered with what was stored, even when what it names has
        # changed since (the conversation merged away, the customer's address moved).
        existing = _find_by_external_id(organisation, channel, external_id)
        if existing is None:
            raise
        return existing


def _find_by_external_id(
    organisation: Organisation, channel: str, external_id: str
) -> ReceiveResult | None:
    # Asked only after a write found the message stored already: one read of the whole rows
    # (the triple is unique).
    message = (
        Message.objects.select_related("conversation__customer")
        .filter(organisation=organisation, channel=channel, external_id=external_id)
        .first()
    )
    if message is None:
        return None
    conversation = message.conversation
    return ReceiveResult(
        message=message, conversation=conversation, customer=conversation.customer, created=False
    )


def _receive_new(
    *,
    organisation: Organisation,
    channel: str,
    external_id: str,
    body_text: str,
    body_html: str,
    customer_email: str | None,
    customer_handle: str | None,
    customer_name: str,
    subject: str,
    conversation_id: int | None,
    team: Team | None,
) -> ReceiveResult:
    found = customer_and_identities_find_or_create(
        organisation=organisation, email=customer_email, handle=customer_handle, name=customer_name
    )
    customer = found.customer
    # Chat arrives from a handle, everything else from an address when there is one.
    sender = (
        (found.handle or found.email) if channel == Channel.CHAT else (found.email or found.handle)
    )
    now = timezone.now()
    new_conversation = conversation_id is None
    if conversation_id is not None:
        conversation = _conversation_for_update(organisation, conversation_id, customer)
        if conversation.status in (Status.RESOLVED, Status.CLOSED):
            # A customer writing again reopens the case: they are not done with it.
            conversation.status = Status.OPEN
            conversation.resolved_at = None
    else:
        # Not saved yet: it is written once, with the reading of its first message.
        conversation = Conversation(
            organisation=organisation,
            customer=customer,
            subject=(subject.strip() or _subject_from(body_text))[:MAX_SUBJECT_CHARS],
            channel=channel,
            team=team,
        )

    # A new conversation has no history to read.
    history = [] if new_conversation else stored_history(conversation.pk)
    text_for_engine = body_text if body_text.strip() else nh3.clean(body_html, tags=set())
    assessment = assess_for_storage(text_for_engine, history=history)
    scores = assessment.get("scores", {})
    anger = float(scores.get("anger", 0.0))
    risk = risk_from_scores(scores)

    _update_reading(conversation, assessment=assessment, anger=anger, risk=risk)
    conversation.last_message_at = now
    if conversation.waiting_since is None:
        conversation.waiting_since = now
    if conversation.status == Status.PENDING_CUSTOMER:
        conversation.status = Status.OPEN
    if assessment.get("escalate", {}).get("recommended") and conversation.priority < Priority.HIGH:
        conversation.priority = Priority.HIGH
    if new_conversation:
        insert(conversation)
    else:
        update(conversation, fields=_RECEIVE_WRITES)
    message = Message(
        organisation=organisation,
        conversation=conversation,
        direction=Direction.INBOUND,
        channel=channel,
        external_id=external_id,
        sender=sender,
        body_text=body_text if body_text.strip() else text_for_engine,
        body_html=sanitise_html(body_html),
        assessment=assessment,
        anger=anger,
        risk=risk,
    )
    insert(message)
    # Imported here: the policy's take-over service builds on this module's services.
    from calmdesk.policies.services import InboundContext, inbound_policy_apply_in_transaction

    inbound_policy_apply_in_transaction(
        message=message,
        conversation=conversation,
        context=InboundContext(
            new_conversation=new_conversation,
            new_customer=found.customer_created,
            new_sender=sender is not None and sender.kind in found.identities_created,
            # A new conversation is this transaction's own; a follow-up's is locked above.
            conversation_locked=True,
        ),
    )
    return ReceiveResult(
        message=message, conversation=conversation, customer=customer, created=True
    )


# What receiving a follow-up may change on its conversation (written without the ORM's
# compiler: through save() it cost ~1 ms of CPU on the ingest benchmark).
_RECEIVE_WRITES = (
    "status",
    "resolved_at",
    "priority",
    "last_message_at",
    "waiting_since",
    "current_anger",
    "peak_anger",
    "risk",
    "trajectory",
    "topic",
    "customer_type",
    "updated_at",
)

# A follow-up message locks its conversation: through the ORM this read cost ~0.5 ms of CPU.
_CONVERSATION_FOR_UPDATE = JoinedRead(
    Link(Conversation), where=("id", "organisation"), for_update=True
)


def _conversation_for_update(
    organisation: Organisation, conversation_id: int, customer: Customer
) -> Conversation:
    """The customer's conversation, locked until the transaction ends."""
    conversation = _CONVERSATION_FOR_UPDATE.one(conversation_id, organisation.pk)
    if not isinstance(conversation, Conversation):
        raise ConversationNotFound(f"conversation {conversation_id} does not exist")
    if conversation.customer_id != customer.pk:
        raise ConversationMismatch(f"conversation {conversation_id} belongs to another customer")
    # The same rows as the arguments: the policy reads them without another query.
    conversation.organisation = organisation
    conversation.customer = customer
    return conversation


def _subject_from(body_text: str) -> str:
    first_line = body_text.strip().splitlines()[0] if body_text.strip() else ""
    return first_line[:80]


def _update_reading(
    conversation: Conversation, *, assessment: dict[str, object], anger: float, risk: float
) -> None:
    conversation.current_anger = anger
    conversation.peak_anger = max(conversation.peak_anger, anger)
    # The conversation's risk follows its newest message, but a past threat or
    # abuse keeps it from dropping below half of what it was.
    conversation.risk = max(risk, conversation.risk * 0.5)
    trajectory = assessment.get("trajectory")
    conversation.trajectory = trajectory if isinstance(trajectory, str) else ""
    topic = assessment.get("topic")
    if (isinstance(topic, str) and topic and topic != "other") or (
        not conversation.topic and isinstance(topic, str)
    ):
        conversation.topic = topic
    customer_type = assessment.get("customer_type")
    if isinstance(customer_type, dict):
        type_id = customer_type.get("type")
        if isinstance(type_id, str) and type_id != "none":
            conversation.customer_type = type_id


@transaction.atomic
def reply_send(
    *,
    conversation: Conversation,
    author: User,
    body_text: str,
    coaching: dict[str, object] | None = None,
) -> Message:
    """Record an agent's reply. Channel delivery (email, chat) picks it up from here."""
    body_text = body_text.strip()
    if not body_text:
        raise ConversationError("a reply needs some text")
    if len(body_text) > MAX_BODY_CHARS:
        raise ConversationError(f"the reply is longer than {MAX_BODY_CHARS} characters")
    now = timezone.now()
    message = Message.objects.create(
        organisation=conversation.organisation,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        author=author,
        channel=conversation.channel,
        body_text=body_text,
        coaching=coaching,
    )
    if coaching:
        promises = coaching.get("promises")
        if isinstance(promises, list) and promises:
            conversation.promises = [
                *conversation.promises,
                *({**p, "message_id": message.pk} for p in promises if isinstance(p, dict)),
            ]
    conversation.last_message_at = now
    conversation.waiting_since = None
    if conversation.status in (Status.NEW, Status.OPEN, Status.PENDING_US):
        conversation.status = Status.PENDING_CUSTOMER
    if conversation.assignee_id is None:
        conversation.assignee = author
    conversation.save()
    followups_from_reply(message=message)
    # Imported here: the policy's services build on this module's.
    from calmdesk.policies.services import escalation_answered

    escalation_answered(conversation=conversation, author=author)
    audit_record(
        organisation=conversation.organisation,
        actor=author,
        action="conversation.replied",
        target_type="conversation",
        target_id=conversation.pk,
        data={"message_id": message.pk},
    )
    return message


@transaction.atomic
def note_add(*, conversation: Conversation, author: User, body_text: str) -> Message:
    body_text = body_text.strip()
    if not body_text:
        raise ConversationError("a note needs some text")
    if len(body_text) > MAX_BODY_CHARS:
        raise ConversationError(f"the note is longer than {MAX_BODY_CHARS} characters")
    message = Message.objects.create(
        organisation=conversation.organisation,
        conversation=conversation,
        direction=Direction.NOTE,
        author=author,
        channel=conversation.channel,
        body_text=body_text,
    )
    audit_record(
        organisation=conversation.organisation,
        actor=author,
        action="conversation.note_added",
        target_type="conversation",
        target_id=conversation.pk,
        data={"message_id": message.pk},
    )
    return message


@transaction.atomic
def conversation_assign(
    *,
    conversation: Conversation,
    actor: User,
    assignee: User | None,
    team: Team | None = None,
) -> Conversation:
    """Give the conversation to a person (or nobody) and optionally move it to a team."""
    organisation_id = conversation.organisation_id
    if assignee is not None and assignee.organisation_id != organisation_id:
        raise ConversationError("the assignee works for another organisation")
    if team is not None and team.organisation_id != organisation_id:
        raise ConversationError("the team belongs to another organisation")
    before = {"assignee_id": conversation.assignee_id, "team_id": conversation.team_id}
    conversation.assignee = assignee
    if team is not None:
        conversation.team = team
    conversation.save(update_fields=["assignee", "team", "updated_at"])
    audit_record(
        organisation=conversation.organisation,
        actor=actor,
        action="conversation.assigned",
        target_type="conversation",
        target_id=conversation.pk,
        data={
            "before": before,
            "after": {"assignee_id": conversation.assignee_id, "team_id": conversation.team_id},
        },
    )
    return conversation


@transaction.atomic
def conversation_set_status(
    *, conversation: Conversation, actor: User, status: str
) -> Conversation:
    if status not in Status.values:
        raise ConversationError(f"unknown status {status!r}")
    before = conversation.status
    if before == status:
        return conversation
    conversation.status = status
    if status in (Status.RESOLVED, Status.CLOSED):
        conversation.resolved_at = conversation.resolved_at or timezone.now()
        conversation.waiting_since = None
    else:
        conversation.resolved_at = None
    conversation.save(update_fields=["status", "resolved_at", "waiting_since", "updated_at"])
    audit_record(
        organisation=conversation.organisation,
        actor=actor,
        action="conversation.status_changed",
        target_type="conversation",
        target_id=conversation.pk,
        data={"before": before, "after": status},
    )
    return conversation


@transaction.atomic
def conversation_set_priority(
    *, conversation: Conversation, actor: User, priority: int
) -> Conversation:
    if priority not in Priority.values:
        raise ConversationError(f"unknown priority {priority!r}")
    before = conversation.priority
    conversation.priority = priority
    conversation.save(update_fields=["priority", "updated_at"])
    audit_record(
        organisation=conversation.organisation,
        actor=actor,
        action="conversation.priority_changed",
        target_type="conversation",
        target_id=conversation.pk,
        data={"before": before, "after": priority},
    )
    return conversation
