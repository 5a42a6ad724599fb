"""Applying the organisation's policy to what customers write, and editing that policy.

`inbound_policy_apply` runs inside the receive transaction, right after a customer's
message is stored and assessed. It walks the boundary ladder (tolerate untargeted
profanity; warn, warn finally, then end and hand over on insults aimed at staff; escalate
any threat of violence at once) and evaluates the escalation rules. Everything it does is
recorded on the conversation's `ConversationState` and in the audit log.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from calmdesk.accounts.models import Organisation, Role, User
from calmdesk.audit.models import AuditEvent
from calmdesk.audit.services import audit_event_new, audit_events_record, audit_record
from calmdesk.conversations.models import (
    OPEN_STATUSES,
    Channel,
    Conversation,
    Direction,
    Message,
)
from calmdesk.conversations.services import conversation_assign
from calmdesk.customers.models import ContactIdentity, IdentityKind
from calmdesk.incidents.services import incident_open
from calmdesk.lean_reads import JoinedRead, Link, quoted, rows
from calmdesk.lean_writes import insert, update
from calmdesk.notifications.selectors import supervisors_to_notify
from calmdesk.notifications.services import notification_send
from calmdesk.policies.document import (
    PRIORITIES,
    Boundaries,
    EscalationRule,
    PolicyDocument,
    default_policy_raw,
    policy_parse,
)
from calmdesk.policies.models import (
    BlockedMessage,
    BoundaryStep,
    ConversationState,
    IdentityBlock,
    Policy,
)

if TYPE_CHECKING:
    from calmdesk.engine.coaching.types import PlaybookState

RECENT_CONTACT_WINDOW: Final = timedelta(days=30)
STEP_RANK: Final[Mapping[str, int]] = {
    BoundaryStep.NONE: 0,
    BoundaryStep.WARNED: 1,
    BoundaryStep.FINAL_WARNING: 2,
    BoundaryStep.ENDED: 3,
    BoundaryStep.THREAT: 4,
}


class PolicyPermissionDenied(PermissionError):
    """Only the organisation's admins may change its policy."""


@dataclass(frozen=True)
class PolicyOutcome:
    """What the policy did about one customer message."""

    boundary_action: str | None = None  # tolerated_profanity, warned, final_warning, ended, threat
    boundary_step: str = BoundaryStep.NONE  # where the conversation stands afterwards
    abuse_strikes: int = 0
    fired_rules: tuple[str, ...] = ()
    escalated: bool = False
    priority: int | None = None
    suggested_reply: str = ""
    incident_ids: tuple[int, ...] = ()
    notified_user_ids: tuple[int, ...] = ()
    reasons: tuple[str, ...] = field(default=())
    blocked: bool = False
    auto_reply_id: int | None = None


# --- reading and editing the policy ---------------------------------------------------


def policy_raw_get(*, organisation: Organisation) -> dict[str, Any]:
    """The organisation's policy as stored (or the shipped default), for the editor."""
    stored = _stored_document(organisation)
    return default_policy_raw() if stored is None else stored


def _stored_document(organisation: Organisation) -> dict[str, Any] | None:
    if Organisation.policy.related.is_cached(organisation):
        # Loaded with the organisation (the API's token lookup does): no query.
        cached = Organisation.policy.related.get_cached_value(organisation)
        if isinstance(cached, Policy) and isinstance(cached.document, dict):
            return cached.document
        return None
    stored = Policy.objects.filter(organisation=organisation).values_list("document", flat=True)
    for document in stored:
        if isinstance(document, dict):
            return document
    return None


def policy_get(*, organisation: Organisation) -> PolicyDocument:
    """The organisation's validated policy. A stored document is validated when saved."""
    global _last_parsed
    raw = _stored_document(organisation)
    if raw is None:
        # Most organisations keep the shipped default: read and parsed once a process
        # (a fresh copy and its JSON text per message cost ~0.1 ms).
        return _default_policy()
    last = _last_parsed
    if last is not None and last[0] is raw:
        # The very document parsed last time: the API's token check hands its requests of
        # a few seconds the same one (api.services.TOKEN_ROWS_SECONDS), only ever read,
        # and writing it out again to find its parse cost ~0.1 ms per message.
        return last[1]
    try:
        # Every customer message applies the policy: parsing it each time cost ~0.3 ms of
        # CPU. The parsed document is frozen, so one parse serves every identical text.
        text = json.dumps(raw, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return policy_parse(raw)
    parsed = _policy_parse_cached(text)
    # Holding the document keeps its id from being reused by another while it is compared.
    _last_parsed = (raw, parsed)
    return parsed


_last_parsed: tuple[object, PolicyDocument] | None = None


@functools.cache
def _default_policy() -> PolicyDocument:
    return policy_parse(default_policy_raw())


@functools.lru_cache(maxsize=64)
def _policy_parse_cached(text: str) -> PolicyDocument:
    return policy_parse(json.loads(text))


@transaction.atomic
def policy_update(*, organisation: Organisation, actor: User, document: object) -> Policy:
    """Replace the policy after validating it; raises `PolicyInvalid` listing each problem."""
    if actor.organisation_id != organisation.pk or actor.role != Role.ADMIN:
        raise PolicyPermissionDenied("only the organisation's admins can change its policy")
    policy_parse(document)  # raises PolicyInvalid
    assert isinstance(document, dict)  # policy_parse accepts only objects
    policy, created = Policy.objects.select_for_update().get_or_create(
        organisation=organisation, defaults={"document": document, "updated_by": actor}
    )
    before = None if created else policy.document
    if not created:
        policy.document = document
        policy.revision += 1
        policy.updated_by = actor
        policy.save()
    audit_record(
        organisation=organisation,
        actor=actor,
        action="policy.updated",
        target_type="policy",
        target_id=policy.pk,
        data={"revision": policy.revision, "before": before, "after": document},
    )
    return policy


# --- applying the policy to an inbound message ----------------------------------------


def _strongest(assessment: Mapping[str, Any], kind: str) -> float:
    """The higher of the score and the strongest single flag of this kind."""
    scores = assessment.get("scores") or {}
    best = float(scores.get(kind, 0.0)) if isinstance(scores, Mapping) else 0.0
    for flag in assessment.get("flags") or []:
        if isinstance(flag, Mapping) and flag.get("kind") == kind:
            best = max(best, float(flag.get("weight") or 0.0))
    return best


def _has_flag(assessment: Mapping[str, Any], kind: str) -> bool:
    return any(
        isinstance(flag, Mapping) and flag.get("kind") == kind
        for flag in assessment.get("flags") or []
    )


class PolicyFacts(Mapping[str, float | str]):
    """The facts escalation conditions are written over (see `document.NUMERIC_FACTS`).

    Facts read from the message are ready at once; the ones that cost a query (customer
    value, recent conversations, message counts) are computed the first time a condition
    asks, so a message that no rule could match pays for none of them.
    """

    LAZY: Final[frozenset[str]] = frozenset(
        {"customer.value", "customer.recent_conversations", "conversation.inbound_messages"}
    )

    def __init__(
        self,
        *,
        message: Message,
        conversation: Conversation,
        known: Mapping[str, float] | None = None,
    ) -> None:
        self._message = message
        self._conversation = conversation
        self._facts: dict[str, float | str] = {
            name: value for name, value in (known or {}).items() if name in self.LAZY
        }
        assessment: Mapping[str, Any] = message.assessment or {}
        scores = assessment.get("scores") or {}
        if isinstance(scores, Mapping):
            for key, value in scores.items():
                if isinstance(value, int | float):
                    self._facts[f"score.{key}"] = float(value)
        for flag in assessment.get("flags") or []:
            if isinstance(flag, Mapping) and isinstance(flag.get("kind"), str):
                name = f"flag.{flag['kind']}"
                self._facts[name] = float(self._facts.get(name, 0.0)) + 1.0
        self._now = timezone.now()
        waiting_since = conversation.waiting_since or message.created_at
        self._facts["conversation.waiting_minutes"] = max(
            0.0, (self._now - waiting_since).total_seconds() / 60
        )
        customer_type = assessment.get("customer_type")
        if isinstance(customer_type, Mapping) and isinstance(customer_type.get("type"), str):
            self._facts["message.customer_type"] = customer_type["type"]
        if isinstance(assessment.get("topic"), str):
            self._facts["message.topic"] = assessment["topic"]
        if conversation.trajectory:
            self._facts["conversation.trajectory"] = conversation.trajectory

    def _compute(self, name: str) -> float:
        conversation = self._conversation
        if name == "customer.value":
            return float(conversation.customer.value)
        if name == "customer.recent_conversations":
            return float(_recent_conversations(conversation.customer_id, self._now))
        return float(conversation.messages.filter(direction=Direction.INBOUND).count())

    def __getitem__(self, name: str) -> float | str:
        if name not in self._facts and name in self.LAZY:
            self._facts[name] = self._compute(name)
        return self._facts[name]

    def __iter__(self) -> Iterator[str]:
        return iter({*self._facts, *self.LAZY})

    def __len__(self) -> int:
        return len({*self._facts, *self.LAZY})


def _recent_conversations(customer_id: int, now: datetime) -> int:
    """How many conversations the customer opened within the repeat-contact window.

    Hand-written: the default policy asks it of every customer message, and the ORM's
    count cost ~0.4 ms of CPU against ~0.1 ms here.
    """
    since = connection.ops.adapt_datetimefield_value(now - RECENT_CONTACT_WINDOW)
    found = rows(
        f"SELECT COUNT(*) FROM {quoted(Conversation)} "  # noqa: S608 - names from the model
        f"WHERE {quoted(Conversation, 'customer')} = %s "
        f"AND {quoted(Conversation, 'created_at')} >= %s",
        [customer_id, since],
    )
    return int(found[0][0])


def policy_facts(
    *, message: Message, conversation: Conversation, known: Mapping[str, float] | None = None
) -> PolicyFacts:
    return PolicyFacts(message=message, conversation=conversation, known=known)


HANDOVER_FLAG_KINDS: Final[tuple[str, ...]] = (
    "threat",
    "abuse",
    "legal",
    "public",
    "churn",
    "refund",
    "repeat_contact",
)
HANDOVER_SCORES: Final[tuple[str, ...]] = ("anger", "abuse", "threat", "legal", "public", "churn")


def handover_build(
    *,
    conversation: Conversation,
    reasons: list[str],
    messages: list[Message] | None = None,
    incident_recorded: bool | None = None,
) -> dict[str, Any]:
    """The whole context of an escalated case, so the customer never has to repeat it.

    A caller that already holds the whole thread (oldest first) or knows whether an
    incident is on record passes it, and is spared the query.
    """
    from calmdesk.conversations.reading import history_for
    from calmdesk.engine.coaching import playbook
    from calmdesk.incidents.selectors import incident_on_record
    from calmdesk.incidents.services import agent_attempts, customer_quotes

    if messages is None:
        messages = list(conversation.messages.order_by("created_at", "id"))
    if incident_recorded is None:
        incident_recorded = incident_on_record(conversation.pk)
    latest = next((m for m in reversed(messages) if m.direction == Direction.INBOUND), None)
    scores = (latest.assessment or {}).get("scores", {}) if latest else {}
    state = playbook(
        history_for(messages),
        incident_recorded=incident_recorded,
    )
    return {
        "reasons": list(reasons),
        "customer": str(conversation.customer),
        "topic": conversation.topic,
        "customer_type": conversation.customer_type,
        "customer_words": list(customer_quotes(messages, "", kinds=HANDOVER_FLAG_KINDS)),
        "tried": agent_attempts(messages),
        "scores": {key: scores.get(key, 0.0) for key in HANDOVER_SCORES},
        "peak_anger": conversation.peak_anger,
        "trajectory": conversation.trajectory,
        "playbook": {
            "stages": {stage.name: stage.status for stage in state.stages},
            **_handover_next_step(state),
        },
    }


def _handover_next_step(state: PlaybookState) -> dict[str, str | None]:
    """The playbook's next step as a lead picking the case up needs it.

    Before anyone has answered, the playbook's next step is always "stay composed", so
    every queued escalation read the same; the lead needs the first stage that says what
    this case lacks, with composure as a given.
    """
    if state.next_stage == "composure":
        statuses = {stage.name: stage.status for stage in state.stages}
        if statuses.get("composure") == "todo":
            for stage in state.stages:
                if stage.name != "composure" and stage.status == "todo" and stage.advice:
                    return {"next_stage": stage.name, "next_action": stage.advice}
    return {"next_stage": state.next_stage, "next_action": state.next_action}


def handover_text(handover: Mapping[str, Any]) -> str:
    """The handover as plain text for a notification or an email."""
    if not handover:
        return ""
    lines = ["Why it was escalated:"]
    lines += [f"- {reason}" for reason in handover.get("reasons", [])]
    lines += ["", f"{handover.get('customer', 'The customer')} wrote:"]
    lines += [f'- "{quote}"' for quote in handover.get("customer_words", [])]
    lines += ["", "What was tried:"]
    lines += [f"- {attempt}" for attempt in handover.get("tried", [])]
    next_action = handover.get("playbook", {}).get("next_action")
    if next_action:
        lines += ["", f"Suggested next step: {next_action}"]
    return "\n".join(lines)


def _untouched_values(conversation: Conversation) -> list[Any]:
    """The column values of a state the policy has not changed."""
    return [
        conversation.pk if attname == "conversation_id" else value
        for attname, value in _new_state_values()
    ]


@functools.cache
def _new_state_values() -> tuple[tuple[str, Any], ...]:
    # Built once: on the receive path a model instance and a deep copy per message cost more
    # than the rest of a calm message's policy run. Only compared, never changed.
    fresh = ConversationState()
    return tuple((field.attname, getattr(fresh, field.attname)) for field in _state_fields())


@functools.cache
def _state_fields() -> tuple[Any, ...]:
    return tuple(ConversationState._meta.concrete_fields)


def _column_values(state: ConversationState) -> list[Any]:
    return [getattr(state, field.attname) for field in _state_fields()]


def _stored_values(state: ConversationState) -> list[Any]:
    """The state's column values, deep-copied so later changes to its JSON show."""
    return copy.deepcopy(_column_values(state))


class _Apply:
    """Collects what one message's policy run does, then writes it once."""

    def __init__(
        self,
        *,
        message: Message,
        conversation: Conversation,
        state: ConversationState,
        first_message: bool = False,
    ) -> None:
        self.message = message
        self.conversation = conversation
        self.state = state
        # The message opened the conversation: it is the whole thread, and only this
        # run can have filed an incident on it.
        self.first_message = first_message
        # Most messages change nothing the policy keeps: then its row is not rewritten.
        self.state_as_loaded = _stored_values(state) if state.pk is not None else None
        self.organisation = conversation.organisation
        self.boundary_action: str | None = None
        self.fired: list[str] = []
        self.reasons: list[str] = []
        self.escalated = False
        self.priority: int | None = None
        self.suggested: tuple[str, str] | None = None
        self.incident_ids: list[int] = []
        self.notified: list[int] = []
        self.notify_reasons: list[str] = []
        self.blocked = False
        self.auto_reply_id: int | None = None
        self.pending_audits: list[AuditEvent] = []

    def audit(self, action: str, data: dict[str, Any]) -> None:
        # Written together when the run ends (or before anything that audits on its own,
        # to keep the log in order): a run that raises a priority, fires a rule and
        # escalates costs one INSERT, not three.
        self.pending_audits.append(
            audit_event_new(
                organisation=self.organisation,
                actor=None,
                action=action,
                target_type="conversation",
                target_id=self.conversation.pk,
                data={"message_id": self.message.pk, **data},
            )
        )

    def flush_audits(self) -> None:
        audit_events_record(self.pending_audits)
        self.pending_audits = []

    def raise_priority(self, priority: int) -> None:
        if self.conversation.priority < priority:
            self.audit(
                "conversation.priority_changed",
                {"before": self.conversation.priority, "after": priority, "by": "policy"},
            )
            self.conversation.priority = priority
            # The row is written without the ORM's compiler: on the ingest benchmark a third
            # of the messages raise a priority, and save() spent ~0.5 ms of CPU building it.
            update(self.conversation, fields=("priority", "updated_at"))
            self.priority = priority

    def escalate(self, reason: str, *, supervisor_queue: bool) -> None:
        self.escalated = True
        self.reasons.append(reason)
        if not self.state.escalated:
            self.state.escalated = True
            self.state.escalated_at = timezone.now()
        if reason not in self.state.escalation_reasons:
            self.state.escalation_reasons = [*self.state.escalation_reasons, reason]
        if supervisor_queue:
            self.state.in_supervisor_queue = True

    def suggest(self, reply: str, reason: str) -> None:
        # The first suggestion wins: a threat's reply outranks a boundary, which outranks rules.
        if reply and self.suggested is None:
            self.suggested = (reply, reason)

    def open_incident(self, kind: str, reason: str, steps: list[str], outcome: str) -> None:
        self.flush_audits()
        incident = incident_open(
            conversation=self.conversation,
            kind=kind,
            reason=reason,
            opened_by=None,
            steps_taken=steps,
            outcome=outcome,
        )
        self.incident_ids.append(incident.pk)

    def record_blocked(self, block: IdentityBlock, policy: PolicyDocument) -> None:
        """Mark the stored message and, at most once per period, answer it automatically."""
        self.blocked = True
        now = timezone.now()
        period = timedelta(hours=policy.blocking.auto_reply_every_hours)
        due = Q(last_auto_reply_at__isnull=True) | Q(last_auto_reply_at__lte=now - period)
        # Claimed with a conditional UPDATE so two deliveries at once send one reply, and a
        # contact whose own system auto-answers cannot start an endless loop of replies.
        claimed = IdentityBlock.objects.filter(due, pk=block.pk).update(last_auto_reply_at=now)
        auto_reply = None
        if claimed:
            auto_reply = Message.objects.create(
                organisation=self.organisation,
                conversation=self.conversation,
                direction=Direction.OUTBOUND,
                channel=self.message.channel,
                body_text=policy.blocking.auto_reply,
            )
            self.auto_reply_id = auto_reply.pk
        BlockedMessage.objects.create(message=self.message, block=block, auto_reply=auto_reply)
        self.audit(
            "policy.blocked_message_received",
            {"block_id": block.pk, "auto_reply_id": self.auto_reply_id},
        )

    def walk_boundaries(self, boundaries: Boundaries) -> None:
        assessment: Mapping[str, Any] = self.message.assessment or {}
        if _strongest(assessment, "threat") >= boundaries.threat_threshold:
            self.on_threat(boundaries)
            return
        abusive = _strongest(assessment, "abuse") >= boundaries.abuse_threshold
        if not abusive and _has_flag(assessment, "profanity"):
            if boundaries.tolerate_untargeted_profanity:
                self.boundary_action = "tolerated_profanity"
                self.audit("policy.profanity_tolerated", {})
                return
            abusive = True
        if abusive:
            self.on_insult(boundaries)

    def on_threat(self, boundaries: Boundaries) -> None:
        response = boundaries.threat
        self.boundary_action = BoundaryStep.THREAT
        self.state.boundary_step = BoundaryStep.THREAT
        reason = "The customer threatened violence."
        self.audit("policy.threat_escalated", {"step": BoundaryStep.THREAT})
        self.escalate(reason, supervisor_queue=True)
        self.raise_priority(response.priority)
        self.suggest(response.reply, "threat")
        if response.incident:
            self.open_incident(
                response.incident,
                reason,
                ["The policy escalated the conversation to a supervisor at once."],
                "Escalated to a supervisor; the agent should not continue alone.",
            )
        if response.notify_supervisors and response.incident != "safety":
            # A safety incident notifies supervisors itself.
            self.notify_reasons.append(reason)

    def on_insult(self, boundaries: Boundaries) -> None:
        self.state.abuse_strikes += 1
        rung = boundaries.rung_for(self.state.abuse_strikes)
        if rung is None:
            return
        self.boundary_action = rung.step
        if STEP_RANK[rung.step] > STEP_RANK[self.state.boundary_step]:
            self.state.boundary_step = rung.step
        self.audit(
            "policy.boundary_step",
            {"step": rung.step, "strikes": self.state.abuse_strikes},
        )
        self.suggest(rung.reply, f"boundary:{rung.step}")
        if rung.hand_to_supervisor:
            reason = (
                f"The customer insulted staff {self.state.abuse_strikes} times after being "
                "warned; the conversation was ended and handed to a supervisor."
            )
            self.escalate(reason, supervisor_queue=True)
            self.raise_priority(PRIORITIES["high"])
            self.notify_reasons.append(reason)
            if rung.incident:
                self.open_incident(
                    rung.incident,
                    "Repeated insults aimed at staff.",
                    [
                        "The agent set a boundary after the first insult.",
                        "The agent gave a final warning after the second.",
                        "The conversation was ended politely and handed to a supervisor.",
                    ],
                    "Ended and handed to a supervisor.",
                )

    def evaluate_rules(
        self,
        policy: PolicyDocument,
        rules: tuple[EscalationRule, ...] | None = None,
        *,
        known_facts: Mapping[str, float] | None = None,
    ) -> None:
        facts = policy_facts(
            message=self.message, conversation=self.conversation, known=known_facts
        )
        already = set(self.state.fired_rules)
        for rule in policy.escalation_rules if rules is None else rules:
            if not rule.matches(facts):
                continue
            actions = rule.actions
            if actions.priority is not None:
                self.raise_priority(actions.priority)
            if rule.id in already:
                # Notifications, incidents and queue moves happen once per conversation.
                continue
            already.add(rule.id)
            self.fired.append(rule.id)
            self.state.fired_rules = [*self.state.fired_rules, rule.id]
            reason = rule.description or rule.id
            self.audit(
                "policy.rule_fired",
                {
                    "rule": rule.id,
                    "conditions": [c.describe() for c in rule.conditions],
                    "facts": {c.fact: facts.get(c.fact) for c in rule.conditions},
                },
            )
            if actions.supervisor_queue or actions.notify_supervisors or actions.incident:
                self.escalate(reason, supervisor_queue=actions.supervisor_queue)
            if actions.notify_supervisors:
                self.notify_reasons.append(reason)
            if actions.incident:
                self.open_incident(actions.incident, reason, [], "")
            self.suggest(actions.suggested_reply, f"rule:{rule.id}")

    def finish(self) -> PolicyOutcome:
        if self.suggested is not None:
            self.state.suggested_reply, self.state.suggested_reply_reason = self.suggested
        if self.escalated:
            self.state.handover = handover_build(
                conversation=self.conversation,
                reasons=self.state.escalation_reasons,
                messages=[self.message] if self.first_message else None,
                incident_recorded=bool(self.incident_ids) if self.first_message else None,
            )
        if self.state._state.adding:
            # Most messages leave the policy nothing to keep: then no row is written, and
            # readers take a missing row as "nothing done yet" (policy_state's NO_STATE).
            if _column_values(self.state) != _untouched_values(self.state.conversation):
                insert(self.state)
        elif self.state_as_loaded is None or _column_values(self.state) != self.state_as_loaded:
            self.state.save()
        if self.escalated:
            self.audit("conversation.escalated", {"reasons": self.reasons})
        self.flush_audits()
        if self.notify_reasons:
            recipients = supervisors_to_notify(
                organisation=self.organisation, team=self.conversation.team
            )
            notification_send(
                organisation=self.organisation,
                recipients=recipients,
                kind="conversation.escalated",
                title=f"Escalated: {self.conversation}",
                body=handover_text(self.state.handover) or "\n".join(self.notify_reasons),
                target_type="conversation",
                target_id=self.conversation.pk,
            )
            self.notified = [user.pk for user in recipients]
        return PolicyOutcome(
            boundary_action=self.boundary_action,
            boundary_step=self.state.boundary_step,
            abuse_strikes=self.state.abuse_strikes,
            fired_rules=tuple(self.fired),
            escalated=self.escalated,
            priority=self.priority,
            suggested_reply=self.suggested[0] if self.suggested else "",
            incident_ids=tuple(self.incident_ids),
            notified_user_ids=tuple(self.notified),
            reasons=tuple(self.reasons),
            blocked=self.blocked,
            auto_reply_id=self.auto_reply_id,
        )


# Every follow-up message reads its conversation's state under a lock.
_STATE_FOR_UPDATE = JoinedRead(Link(ConversationState), where="conversation", for_update=True)


def conversation_state_for(conversation: Conversation, *, lock: bool = False) -> ConversationState:
    if lock:
        found = _STATE_FOR_UPDATE.one(conversation.pk)
        if isinstance(found, ConversationState):
            found.conversation = conversation
            return found
    states = ConversationState.objects.select_for_update() if lock else ConversationState.objects
    state, _ = states.get_or_create(conversation=conversation)
    return state


@transaction.atomic
def inbound_policy_apply(*, message: Message, conversation: Conversation) -> PolicyOutcome:
    """Walk the boundary ladder and the escalation rules for one stored customer message."""
    return inbound_policy_apply_in_transaction(
        message=message, conversation=conversation, context=InboundContext()
    )


@dataclass(frozen=True)
class InboundContext:
    """What the receiving service already knows about a message, so the policy need not
    ask the database: for a first contact there is no state, block or history to read."""

    new_conversation: bool = False
    new_customer: bool = False
    # The identity that sent the message was attached by this very delivery.
    new_sender: bool = False
    # The caller holds the conversation's row lock until its transaction ends (receive
    # does), so a missing state row can be written later by this run without a race.
    conversation_locked: bool = False


def inbound_policy_apply_in_transaction(
    *, message: Message, conversation: Conversation, context: InboundContext
) -> PolicyOutcome:
    """`inbound_policy_apply` for a caller already inside a transaction (receive).

    Spares receive a savepoint and, through `context`, the lookups whose answer it
    already knows.
    """
    if message.direction != Direction.INBOUND or message.conversation_id != conversation.pk:
        raise ValueError("the policy applies to a customer message in this conversation")
    policy = policy_get(organisation=conversation.organisation)
    if context.new_conversation:
        state = ConversationState(conversation=conversation)  # written, if at all, by finish()
    elif context.conversation_locked:
        found = _STATE_FOR_UPDATE.one(conversation.pk)
        if isinstance(found, ConversationState):
            found.conversation = conversation
            state = found
        else:
            state = ConversationState(conversation=conversation)
    else:
        state = conversation_state_for(conversation, lock=True)
    run = _Apply(
        message=message,
        conversation=conversation,
        state=state,
        first_message=context.new_conversation,
    )
    # Nobody can have blocked an identity that did not exist before this message.
    block = None if context.new_sender else _active_block_for(message, conversation)
    if block is not None:
        # A blocked contact is not coached through the ladder again, but a threat of
        # violence still escalates: safety comes before the block.
        run.record_blocked(block, policy)
        if _strongest(message.assessment or {}, "threat") >= policy.boundaries.threat_threshold:
            run.on_threat(policy.boundaries)
        return run.finish()
    run.walk_boundaries(policy.boundaries)
    run.evaluate_rules(policy, known_facts=_known_facts(context))
    return run.finish()


def _known_facts(context: InboundContext) -> dict[str, float]:
    """Lazy facts whose value follows from the context without a query."""
    known: dict[str, float] = {}
    if context.new_conversation:
        known["conversation.inbound_messages"] = 1.0
    if context.new_customer:
        # A customer made by this message: this is their only conversation, worth nothing yet.
        known["customer.recent_conversations"] = 1.0
        known["customer.value"] = 0.0
    return known


WAITING_FACT: Final = "conversation.waiting_minutes"


def _waiting_rules(policy: PolicyDocument) -> tuple[tuple[EscalationRule, ...], float | None]:
    """Rules that depend on how long the customer has waited, and the shortest such wait."""
    rules = tuple(
        rule
        for rule in policy.escalation_rules
        if any(c.fact == WAITING_FACT and c.operator in ("gte", "gt") for c in rule.conditions)
    )
    minutes = [
        float(c.value)
        for rule in rules
        for c in rule.conditions
        if c.fact == WAITING_FACT and isinstance(c.value, float)
    ]
    return rules, min(minutes) if minutes else None


def waiting_rules_check(*, now: datetime | None = None) -> list[int]:
    """Fire waiting-time rules for customers who have waited without writing again.

    Receiving a message evaluates every rule, but a customer who is simply left waiting
    sends nothing; the worker runs this regularly so their wait still escalates. Each rule
    fires once per conversation (recorded under the state's row lock), so overlapping runs
    on several workers do not repeat its actions.
    """
    now = now or timezone.now()
    fired_in: list[int] = []
    organisation_ids = (
        Conversation.objects.filter(status__in=OPEN_STATUSES, waiting_since__isnull=False)
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    for organisation in Organisation.objects.filter(pk__in=list(organisation_ids)):
        policy = policy_get(organisation=organisation)
        rules, shortest = _waiting_rules(policy)
        if shortest is None:
            continue
        rule_ids = {rule.id for rule in rules}
        candidates = Conversation.objects.filter(
            organisation=organisation,
            status__in=OPEN_STATUSES,
            waiting_since__lte=now - timedelta(minutes=shortest),
        ).values_list("id", "policy_state__fired_rules")
        pending = [pk for pk, fired in candidates if not rule_ids <= set(fired or ())]
        for conversation_id in pending:
            if _apply_waiting_rules(conversation_id, policy, rules):
                fired_in.append(conversation_id)
    return fired_in


@transaction.atomic
def _apply_waiting_rules(
    conversation_id: int, policy: PolicyDocument, rules: tuple[EscalationRule, ...]
) -> bool:
    conversation = (
        Conversation.objects.select_related("organisation", "customer", "team")
        .filter(pk=conversation_id)
        .first()
    )
    message = (
        Message.objects.filter(conversation_id=conversation_id, direction=Direction.INBOUND)
        .order_by("-created_at", "-id")
        .first()
    )
    if conversation is None or message is None:
        return False
    run = _Apply(
        message=message,
        conversation=conversation,
        state=conversation_state_for(conversation, lock=True),
    )
    run.evaluate_rules(policy, rules)
    return bool(run.finish().fired_rules)


# --- protecting the agent: take-over and stepping away --------------------------------


@transaction.atomic
def conversation_take_over(*, conversation: Conversation, supervisor: User) -> ConversationState:
    """A supervisor takes the thread; it leaves the supervisor queue."""
    if supervisor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PolicyPermissionDenied("only supervisors and admins can take over a conversation")
    conversation_assign(conversation=conversation, actor=supervisor, assignee=supervisor)
    state = conversation_state_for(conversation, lock=True)
    state.taken_over_by = supervisor
    state.in_supervisor_queue = False
    state.save()
    audit_record(
        organisation=conversation.organisation,
        actor=supervisor,
        action="conversation.taken_over",
        target_type="conversation",
        target_id=conversation.pk,
    )
    return state


def escalation_answered(*, conversation: Conversation, author: User) -> bool:
    """A supervisor or admin who replies to a queued escalation has taken it over.

    Without this, an escalation the lead already answered kept waiting on the dashboard
    with a "Take over" button until someone pressed it. As with a take-over, the lead is
    now the assignee. Called inside the reply's transaction; True when the conversation
    left the queue.
    """
    if author.role not in (Role.SUPERVISOR, Role.ADMIN):
        return False
    claimed = ConversationState.objects.filter(
        conversation=conversation, in_supervisor_queue=True
    ).update(in_supervisor_queue=False, taken_over_by=author, updated_at=timezone.now())
    if not claimed:
        return False
    if conversation.assignee_id != author.pk:
        conversation_assign(conversation=conversation, actor=author, assignee=author)
    audit_record(
        organisation=conversation.organisation,
        actor=author,
        action="conversation.taken_over",
        target_type="conversation",
        target_id=conversation.pk,
        data={"by": "reply"},
    )
    return True


@transaction.atomic
def conversation_step_away(*, conversation: Conversation, agent: User) -> ConversationState:
    """The agent hands an abusive thread back: unassigned and into the supervisor queue."""
    if conversation.assignee_id not in (None, agent.pk):
        raise PolicyPermissionDenied("only the assigned agent can step away from a conversation")
    conversation_assign(conversation=conversation, actor=agent, assignee=None)
    state = conversation_state_for(conversation, lock=True)
    state.in_supervisor_queue = True
    state.save()
    audit_record(
        organisation=conversation.organisation,
        actor=agent,
        action="conversation.agent_stepped_away",
        target_type="conversation",
        target_id=conversation.pk,
    )
    notification_send(
        organisation=conversation.organisation,
        recipients=supervisors_to_notify(
            organisation=conversation.organisation, team=conversation.team
        ),
        kind="conversation.agent_stepped_away",
        title=f"{agent.display_name} stepped away from: {conversation}",
        target_type="conversation",
        target_id=conversation.pk,
        email=False,
    )
    return state


# --- customers who cross the line: blocking a contact identity ----------------------------

CHANNEL_IDENTITY_KINDS: Final[Mapping[str, tuple[str, ...]]] = {
    Channel.EMAIL: (IdentityKind.EMAIL,),
    Channel.CHAT: (IdentityKind.HANDLE,),
    Channel.API: tuple(IdentityKind.values),
}


class BlockError(ValueError):
    """A block operation that cannot be done as asked."""


def _active_block_for(message: Message, conversation: Conversation) -> IdentityBlock | None:
    """The active block on the identity that sent `message`.

    A message stored before senders were recorded (or sent through the API under a
    conversation id alone) has no sender: then a block on any of the customer's
    identities of the channel's kind applies, since one of them wrote it.
    """
    active = IdentityBlock.objects.filter(unblocked_at__isnull=True)
    if message.sender_id is not None:
        # Asked of nearly every customer message and almost always "no": a hand-written
        # id check first (the ORM's cost ~0.4 ms of CPU), the row only when there is one.
        # An identity has at most one active block (a unique constraint).
        found = rows(
            f"SELECT {quoted(IdentityBlock, 'id')} FROM {quoted(IdentityBlock)} "  # noqa: S608
            f"WHERE {quoted(IdentityBlock, 'identity')} = %s "
            f"AND {quoted(IdentityBlock, 'unblocked_at')} IS NULL",
            [message.sender_id],
        )
        return active.get(pk=found[0][0]) if found else None
    kinds = CHANNEL_IDENTITY_KINDS.get(conversation.channel, tuple(IdentityKind.values))
    return (
        active.filter(identity__customer_id=conversation.customer_id, identity__kind__in=kinds)
        .order_by("blocked_at", "id")
        .first()
    )


@transaction.atomic
def identity_block(*, identity: ContactIdentity, actor: User, reason: str) -> IdentityBlock:
    """Block a contact identity; any member of staff may, and a supervisor reviews an agent's."""
    reason = reason.strip()
    if actor.organisation_id != identity.organisation_id:
        raise PolicyPermissionDenied("the identity belongs to another organisation")
    if not reason:
        raise BlockError("say why the contact is blocked")
    if len(reason) > 2000:
        raise BlockError("the reason is longer than 2000 characters")
    if IdentityBlock.objects.filter(identity=identity, unblocked_at__isnull=True).exists():
        raise BlockError("this contact is already blocked")
    # A supervisor's or admin's own block is the review: only agents' blocks wait for one.
    reviewing = actor.role in (Role.SUPERVISOR, Role.ADMIN)
    block = IdentityBlock.objects.create(
        organisation_id=identity.organisation_id,
        identity=identity,
        reason=reason,
        blocked_by=actor,
        reviewed_by=actor if reviewing else None,
        reviewed_at=timezone.now() if reviewing else None,
    )
    audit_record(
        organisation=block.organisation,
        actor=actor,
        action="identity.blocked",
        target_type="identity",
        target_id=identity.pk,
        data={"block_id": block.pk, "reason": reason},
    )
    if actor.role == Role.AGENT:
        notification_send(
            organisation=block.organisation,
            recipients=supervisors_to_notify(organisation=block.organisation, team=None),
            kind="identity.block_review",
            title=f"Please review: {actor.display_name} blocked {identity.value}",
            body=reason,
            target_type="identity_block",
            target_id=block.pk,
            email=False,
        )
    return block


def _check_supervises(block: IdentityBlock, actor: User) -> None:
    if actor.organisation_id != block.organisation_id or actor.role not in (
        Role.SUPERVISOR,
        Role.ADMIN,
    ):
        raise PolicyPermissionDenied("only the organisation's supervisors and admins can do this")


@transaction.atomic
def identity_block_review(*, block: IdentityBlock, actor: User) -> IdentityBlock:
    """A supervisor confirms the block was right."""
    _check_supervises(block, actor)
    if not block.is_active:
        raise BlockError("this block has been lifted")
    block.reviewed_by = actor
    block.reviewed_at = timezone.now()
    block.save(update_fields=["reviewed_by", "reviewed_at"])
    audit_record(
        organisation=block.organisation,
        actor=actor,
        action="identity.block_reviewed",
        target_type="identity",
        target_id=block.identity_id,
        data={"block_id": block.pk},
    )
    return block


@transaction.atomic
def identity_unblock(*, block: IdentityBlock, actor: User, reason: str) -> IdentityBlock:
    _check_supervises(block, actor)
    if not block.is_active:
        return block
    block.unblocked_by = actor
    block.unblocked_at = timezone.now()
    block.unblock_reason = reason.strip()[:2000]
    block.save(update_fields=["unblocked_by", "unblocked_at", "unblock_reason"])
    audit_record(
        organisation=block.organisation,
        actor=actor,
        action="identity.unblocked",
        target_type="identity",
        target_id=block.identity_id,
        data={"block_id": block.pk, "reason": block.unblock_reason},
    )
    return block
