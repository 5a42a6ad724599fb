"""The API's request and response shapes.

Requests are strict: unknown fields, wrong types (no "5" for 5), empty text,
NUL characters and lone surrogates (which no database can store) are refused
with 422 before any service runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.urls import reverse
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationInfo,
    model_validator,
)

from calmdesk.accounts.models import Team, User
from calmdesk.channels.selectors import AttachmentRow, DeliveryRow, EmailFacts
from calmdesk.conversations.models import Conversation, Message
from calmdesk.conversations.services import MAX_BODY_CHARS, MAX_SUBJECT_CHARS
from calmdesk.customers.models import ContactIdentity, Customer
from calmdesk.followups.models import FollowUp, FollowUpState
from calmdesk.incidents.models import Incident
from calmdesk.policies.selectors import PolicyStateView


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("text must not be empty or only whitespace")
    return value


def _whole_number(value: object) -> int:
    """An id: a JSON integer (2768.0 is one too, per JSON Schema), never a string or a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        return int(value)
    return value


# Database ids are 64-bit; anything larger cannot name a row and would overflow the query.
MAX_ID = 2**63 - 1
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]


# The rules below are also patterns so that the OpenAPI schema states them: no NUL
# (no database stores it) and, where text is required, one character that is not
# whitespace. \x1c-\x1f count as whitespace for Python's str.strip() but not for
# regular expressions, hence their explicit mention.
TEXT = r"^[^\x00]*$"
# \x85 (NEL) is spelled out: it is whitespace to the server's regex engine but
# not to ECMA-262, the dialect OpenAPI clients read these patterns in.
NOT_BLANK = r"^[^\x00]*[^\s\x85\x1c-\x1f\x00][^\x00]*$"
EMAIL = r"^[^\s\x85\x1c-\x1f@\x00]+@[^\s\x85\x1c-\x1f@\x00]+$"

Body = Annotated[
    str,
    Field(min_length=1, max_length=MAX_BODY_CHARS, pattern=NOT_BLANK),
    AfterValidator(_storable),
    AfterValidator(_not_blank),
]
Channel = Literal["api", "email", "chat"]
StatusFilter = Literal[
    "open_all", "all", "new", "open", "pending_customer", "pending_us", "resolved", "closed"
]
SortKey = Literal["risk", "waiting", "newest", "oldest", "updated", "priority"]


class StrictInput(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(
        cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        """Validate once, as pydantic does. Replaces ninja's own (same name), which with
        extra="forbid" validated every request body twice, the second time through a Python
        attribute getter made for reading Django objects (~0.1 ms per ingest request), and
        kept the second result. Input schemas read JSON documents and never Django objects,
        so the first validation already gives the same model and the same errors."""
        return handler(values)


class CustomerIn(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["email"], "properties": {"email": {"type": "string"}}},
                {"required": ["handle"], "properties": {"handle": {"type": "string"}}},
            ]
        }
    )

    email: (
        Annotated[str, Field(max_length=320, pattern=EMAIL), AfterValidator(_storable)] | None
    ) = None
    handle: (
        Annotated[
            str,
            Field(min_length=1, max_length=320, pattern=NOT_BLANK),
            AfterValidator(_storable),
            AfterValidator(_not_blank),
        ]
        | None
    ) = None
    name: Annotated[str, Field(max_length=200, pattern=TEXT), AfterValidator(_storable)] = ""

    @model_validator(mode="after")
    def needs_an_identity(self) -> CustomerIn:
        if self.email is None and self.handle is None:
            raise ValueError("a customer needs an email address or a chat handle")
        return self


class InboundIn(StrictInput):
    channel: Channel
    external_id: Annotated[
        str,
        Field(min_length=1, max_length=300, pattern=NOT_BLANK),
        AfterValidator(_storable),
        AfterValidator(_not_blank),
    ]
    customer: CustomerIn
    subject: Annotated[
        str, Field(max_length=MAX_SUBJECT_CHARS, pattern=TEXT), AfterValidator(_storable)
    ] = ""
    body: Body
    conversation_id: (
        Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole_number)] | None
    ) = None


class ReplyIn(StrictInput):
    body: Body
    # The coach blocks replies with an insult, a threat or another customer's data;
    # sending one anyway needs this, as the web reply box needs its tick box.
    confirm_blocking: bool = False


class ConversationQuery(Schema):
    """Filters of the conversation list; query strings are text, so these are not strict."""

    status: StatusFilter = "open_all"
    team: ObjectId | None = None
    assignee: ObjectId | None = None
    unassigned: bool = False
    customer: ObjectId | None = None
    sort: SortKey = "risk"
    limit: Annotated[int, Field(ge=1, le=100)] = 25
    # Far beyond any real inbox, and far from the 64-bit limit of SQL's OFFSET.
    offset: Annotated[int, Field(ge=0, le=10**12)] = 0


class IncidentQuery(Schema):
    kind: Literal["safety", "abuse", "legal", "public", "complaint", "churn", "other"] | None = None
    # Without a status: every incident that is not closed.
    status: Literal["open", "acknowledged", "action_taken", "closed", "all"] | None = None
    conversation: ObjectId | None = None
    customer: ObjectId | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 25
    offset: Annotated[int, Field(ge=0, le=10**12)] = 0


class FollowUpQuery(Schema):
    # Only open follow-ups whose due time has passed.
    overdue: bool = False
    conversation: ObjectId | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 25
    offset: Annotated[int, Field(ge=0, le=10**12)] = 0


class HistoryItemIn(StrictInput):
    role: Literal["customer", "agent"]
    text: Annotated[str, Field(max_length=MAX_BODY_CHARS, pattern=TEXT), AfterValidator(_storable)]


class AssessIn(StrictInput):
    text: Annotated[str, Field(max_length=MAX_BODY_CHARS, pattern=TEXT), AfterValidator(_storable)]
    history: Annotated[list[HistoryItemIn], Field(max_length=50)] = []


class CoachIn(StrictInput):
    """A draft reply to coach; with `conversation_id`, against that conversation's thread."""

    draft: Annotated[str, Field(max_length=MAX_BODY_CHARS, pattern=TEXT), AfterValidator(_storable)]
    conversation_id: (
        Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole_number)] | None
    ) = None


# Responses ------------------------------------------------------------------


class FlagOut(Schema):
    kind: str
    start: int
    end: int
    evidence: str
    rule: str
    weight: float


class CustomerTypeOut(Schema):
    type: str
    confidence: float
    evidence: list[str]


class EscalationOut(Schema):
    recommended: bool
    reasons: list[str]


class AssessmentOut(Schema):
    """The engine's reading of one customer message (`calmdesk.engine.assess`)."""

    scores: dict[str, float]
    emotions: dict[str, float]
    intensity: float
    flags: list[FlagOut]
    customer_type: CustomerTypeOut
    topic: str
    trajectory: Literal["rising", "steady", "falling"] | None
    last_reply_effect: Literal["helped", "hurt", "neutral"] | None
    escalate: EscalationOut
    risk: float


class FindingOut(Schema):
    rule: str
    kind: Literal["avoid", "good"]
    severity: str
    span: tuple[int, int]
    text: str
    explanation: str
    rewrites: list[str]
    # "rule": a phrasing rule matched; "model": the learned tone model read it (the sentence).
    evidence: Literal["rule", "model"] = "rule"


class ScoreReasonOut(Schema):
    points: int
    reason: str


class PromiseOut(Schema):
    span: tuple[int, int]
    text: str
    action: str
    due: datetime | None
    due_phrase: str


class CoachingOut(Schema):
    """The coach's review of a draft reply (`calmdesk.engine.coach`)."""

    score: int
    reasons: list[ScoreReasonOut]
    findings: list[FindingOut]
    blocking: list[FindingOut]
    techniques: dict[str, float]
    promises: list[PromiseOut]
    customer_anger: float


class ErrorBody(Schema):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(Schema):
    error: ErrorBody


class InboundOut(Schema):
    conversation_id: int
    message_id: int
    customer_id: int
    created: bool
    assessment: dict[str, Any] | None


class TeamOut(Schema):
    id: int
    name: str

    @classmethod
    def build(cls, team: Team | None) -> TeamOut | None:
        return None if team is None else cls(id=team.pk, name=team.name)


class StaffOut(Schema):
    id: int
    username: str
    name: str

    @classmethod
    def build(cls, user: User | None) -> StaffOut | None:
        if user is None:
            return None
        return cls(id=user.pk, username=user.username, name=user.display_name)


class CustomerRefOut(Schema):
    id: int
    name: str


class ConversationSummaryOut(Schema):
    id: int
    subject: str
    channel: str
    status: str
    priority: int
    team: TeamOut | None
    assignee: StaffOut | None
    customer: CustomerRefOut
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    waiting_since: datetime | None
    risk: float
    current_anger: float
    peak_anger: float
    trajectory: str
    topic: str
    customer_type: str

    @classmethod
    def build(cls, conversation: Conversation) -> ConversationSummaryOut:
        return cls(**_summary_fields(conversation))


def _summary_fields(conversation: Conversation, customer: Customer | None = None) -> dict[str, Any]:
    # A customer's page passes the customer it already has rather than a query per row.
    customer = customer or conversation.customer
    return {
        "id": conversation.pk,
        "subject": conversation.subject,
        "channel": conversation.channel,
        "status": conversation.status,
        "priority": conversation.priority,
        "team": TeamOut.build(conversation.team),
        "assignee": StaffOut.build(conversation.assignee),
        "customer": CustomerRefOut(id=customer.pk, name=str(customer)),
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "last_message_at": conversation.last_message_at,
        "waiting_since": conversation.waiting_since,
        "risk": conversation.risk,
        "current_anger": conversation.current_anger,
        "peak_anger": conversation.peak_anger,
        "trajectory": conversation.trajectory,
        "topic": conversation.topic,
        "customer_type": conversation.customer_type,
    }


class ConversationPageOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[ConversationSummaryOut]


class DeliveryOut(Schema):
    """How sending an agent's email reply went; retried by the worker until sent or failed."""

    status: Literal["queued", "sending", "retrying", "sent", "failed", "bounced"]
    to_address: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    sent_at: datetime | None

    @classmethod
    def build(cls, row: DeliveryRow | None) -> DeliveryOut | None:
        if row is None:
            return None
        return cls(
            status=row.status,  # type: ignore[arg-type]
            to_address=row.to_address,
            attempts=row.attempts,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            sent_at=row.sent_at,
        )


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    inline: bool
    # Refused attachments (over the size limit) were not kept: no download.
    refused: bool
    refused_reason: str
    download_url: str | None

    @classmethod
    def build(cls, row: AttachmentRow) -> AttachmentOut:
        return cls(
            id=row.id,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            inline=row.inline,
            refused=row.refused,
            refused_reason=row.refused_reason,
            download_url=None
            if row.refused
            else reverse("api-v1:attachment-download", kwargs={"attachment_id": row.id}),
        )


class SenderOut(Schema):
    """Which of the customer's addresses or handles sent an inbound message."""

    kind: str
    value: str


class MessageOut(Schema):
    id: int
    conversation_id: int
    direction: str
    channel: str
    external_id: str | None
    author: StaffOut | None
    body_text: str
    # Sanitised when stored (nh3); still treat it as customer content when rendering.
    body_html: str
    created_at: datetime
    anger: float
    risk: float
    assessment: dict[str, Any] | None
    coaching: dict[str, Any] | None
    # Inbound messages: the identity that sent it (null for older messages and replies).
    sender: SenderOut | None = None
    # Email replies only: null for other messages.
    delivery: DeliveryOut | None = None
    attachments: list[AttachmentOut] = []

    @classmethod
    def build(cls, message: Message, facts: EmailFacts | None = None) -> MessageOut:
        return cls(
            id=message.pk,
            conversation_id=message.conversation_id,
            direction=message.direction,
            channel=message.channel,
            external_id=message.external_id,
            author=StaffOut.build(message.author),
            body_text=message.body_text,
            body_html=message.body_html,
            created_at=message.created_at,
            anger=message.anger,
            risk=message.risk,
            assessment=message.assessment,
            coaching=message.coaching,
            sender=SenderOut(kind=message.sender.kind, value=message.sender.value)
            if message.sender is not None
            else None,
            delivery=DeliveryOut.build(facts.delivery) if facts is not None else None,
            attachments=[AttachmentOut.build(row) for row in facts.attachments]
            if facts is not None
            else [],
        )


class PlaybookEvidenceOut(Schema):
    message: int
    phrase: str
    rule: str


class PlaybookStageOut(Schema):
    name: str
    status: str
    evidence: list[PlaybookEvidenceOut]
    advice: str


class PlaybookOut(Schema):
    """Where the de-escalation stands (`calmdesk.engine.playbook`) and what to do next."""

    stages: list[PlaybookStageOut]
    next_stage: str | None
    next_action: str
    customer_anger: float
    anger_trend: Literal["rising", "steady", "falling"] | None


class ConversationOut(ConversationSummaryOut):
    promises: list[dict[str, Any]]
    # What the organisation's policy has done so far (boundary ladder, escalation).
    escalated: bool
    escalation_reasons: list[str]
    boundary_step: str
    in_supervisor_queue: bool
    suggested_reply: str
    playbook: PlaybookOut
    messages: list[MessageOut]

    @classmethod
    def build_with_messages(
        cls,
        conversation: Conversation,
        messages: list[Message],
        *,
        policy: PolicyStateView,
        playbook: dict[str, Any],
        facts: dict[int, EmailFacts],
    ) -> ConversationOut:
        return cls(
            **_summary_fields(conversation),
            promises=list(conversation.promises or []),
            escalated=policy.escalated,
            escalation_reasons=[str(reason) for reason in policy.escalation_reasons],
            boundary_step=policy.boundary_step,
            in_supervisor_queue=policy.in_supervisor_queue,
            suggested_reply=policy.suggested_reply,
            playbook=PlaybookOut.model_validate(playbook),
            messages=[MessageOut.build(message, facts.get(message.pk)) for message in messages],
        )


class IdentityOut(Schema):
    kind: str
    value: str

    @classmethod
    def build(cls, identity: ContactIdentity) -> IdentityOut:
        return cls(kind=identity.kind, value=identity.value)


class CustomerOut(Schema):
    id: int
    name: str
    notes: str
    value: str
    created_at: datetime
    merged_into_id: int | None
    identities: list[IdentityOut]
    conversations: list[ConversationSummaryOut]

    @classmethod
    def build(cls, customer: Customer, conversations: list[Conversation]) -> CustomerOut:
        return cls(
            id=customer.pk,
            name=customer.name,
            notes=customer.notes,
            value=str(customer.value),
            created_at=customer.created_at,
            merged_into_id=customer.merged_into_id,
            identities=[IdentityOut.build(identity) for identity in customer.identities.all()],
            conversations=[
                ConversationSummaryOut(**_summary_fields(c, customer)) for c in conversations
            ],
        )


class IncidentOut(Schema):
    id: int
    kind: str
    status: str
    title: str
    reason: str
    topic: str
    summary: str
    customer_quotes: list[Any]
    agent_attempts: list[Any]
    outcome: str
    conversation_id: int | None
    customer_id: int | None
    team: TeamOut | None
    opened_by: StaffOut | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def build(cls, incident: Incident) -> IncidentOut:
        return cls(
            id=incident.pk,
            kind=incident.kind,
            status=incident.status,
            title=incident.title,
            reason=incident.reason,
            topic=incident.topic,
            summary=incident.summary,
            customer_quotes=list(incident.customer_quotes or []),
            agent_attempts=list(incident.agent_attempts or []),
            outcome=incident.outcome,
            conversation_id=incident.conversation_id,
            customer_id=incident.customer_id,
            team=TeamOut.build(incident.team),
            opened_by=StaffOut.build(incident.opened_by),
            created_at=incident.created_at,
            updated_at=incident.updated_at,
            acknowledged_at=incident.acknowledged_at,
            closed_at=incident.closed_at,
        )


class IncidentPageOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[IncidentOut]


class FollowUpOut(Schema):
    id: int
    conversation_id: int
    description: str
    source: str
    state: str
    due_at: datetime
    overdue: bool
    promised_at: datetime
    promise_message_id: int | None
    created_by: StaffOut | None
    reminded_at: datetime | None
    overdue_raised_at: datetime | None
    done_at: datetime | None
    created_at: datetime

    @classmethod
    def build(cls, followup: FollowUp, *, now: datetime) -> FollowUpOut:
        return cls(
            id=followup.pk,
            conversation_id=followup.conversation_id,
            description=followup.description,
            source=followup.source,
            state=followup.state,
            due_at=followup.due_at,
            overdue=followup.state == FollowUpState.OPEN and followup.due_at <= now,
            promised_at=followup.promised_at,
            promise_message_id=followup.promise_message_id,
            created_by=StaffOut.build(followup.created_by),
            reminded_at=followup.reminded_at,
            overdue_raised_at=followup.overdue_raised_at,
            done_at=followup.done_at,
            created_at=followup.created_at,
        )


class FollowUpPageOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[FollowUpOut]
