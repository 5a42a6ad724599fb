"""The boundary ladder and escalation, driven by real customer text through the receive service."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Priority
from calmdesk.conversations.services import inbound_message_receive
from calmdesk.incidents.models import Incident, IncidentKind
from calmdesk.notifications.models import Notification
from calmdesk.notifications.tasks import deliver_notification_email
from calmdesk.policies.models import BoundaryStep, ConversationState

pytestmark = pytest.mark.django_db


class Thread:
    """One customer writing into one conversation, message after message."""

    def __init__(self, org: Organisation, team: Team) -> None:
        self.org = org
        self.team = team
        self.conversation_id: int | None = None
        self.count = 0

    def send(self, text: str):  # type: ignore[no-untyped-def]
        self.count += 1
        result = inbound_message_receive(
            organisation=self.org,
            channel="chat",
            external_id=f"chat-{self.count}",
            body_text=text,
            customer_handle="kettle-fan",
            customer_name="Robin Vale",
            conversation_id=self.conversation_id,
            team=self.team,
        )
        self.conversation_id = result.conversation.pk
        return result

    def state(self) -> ConversationState:
        # No row until the policy has something to keep: read that as an untouched state.
        stored = ConversationState.objects.filter(conversation_id=self.conversation_id).first()
        return stored or ConversationState(conversation_id=self.conversation_id)


def audit_actions(conversation_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="conversation", target_id=conversation_id)
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_the_abuse_ladder_through_receive(
    org: Organisation, team_a: Team, supervisor_a: User
) -> None:
    thread = Thread(org, team_a)

    thread.send("This damn kettle broke again and I'm fed up.")
    assert thread.state().boundary_step == BoundaryStep.NONE
    assert thread.state().suggested_reply == ""

    thread.send("You are a useless idiot, fix my bill.")
    state = thread.state()
    assert state.boundary_step == BoundaryStep.WARNED
    assert "personal insults" in state.suggested_reply
    assert not Incident.objects.exists()

    thread.send("You're an incompetent moron and you know it.")
    state = thread.state()
    assert state.boundary_step == BoundaryStep.FINAL_WARNING
    assert "last time" in state.suggested_reply

    result = thread.send("Are you stupid? Seriously, what a pathetic excuse for a company.")
    state = thread.state()
    assert state.boundary_step == BoundaryStep.ENDED
    assert state.abuse_strikes == 3
    assert state.escalated and state.in_supervisor_queue
    assert "close this conversation" in state.suggested_reply
    assert result.conversation.priority >= Priority.HIGH

    incident = Incident.objects.get(conversation_id=thread.conversation_id)
    assert incident.kind == IncidentKind.ABUSE
    # The record quotes the customer's own words from each insult.
    assert "You are a useless idiot, fix my bill." in incident.customer_quotes
    assert "You're an incompetent moron and you know it." in incident.customer_quotes
    assert "Are you stupid?" in incident.customer_quotes
    escalated = Notification.objects.get(recipient=supervisor_a, kind="conversation.escalated")
    # The supervisor gets the context, not just a link: the customer's words and what was tried.
    assert '- "Are you stupid?"' in escalated.body
    assert "What was tried:" in escalated.body

    actions = audit_actions(thread.conversation_id)  # type: ignore[arg-type]
    assert actions.count("policy.profanity_tolerated") == 1
    assert actions.count("policy.boundary_step") == 3
    assert "conversation.escalated" in actions
    assert AuditEvent.objects.filter(action="incident.opened", target_id=incident.pk).exists()


def test_a_threat_of_violence_escalates_at_once(
    org: Organisation, team_a: Team, supervisor_a: User
) -> None:
    supervisor_a.email = "sam@example.com"
    supervisor_a.save()
    thread = Thread(org, team_a)
    result = thread.send("I know where your office is and I will hurt you.")

    state = thread.state()
    assert state.boundary_step == BoundaryStep.THREAT
    assert state.escalated and state.in_supervisor_queue
    assert result.conversation.priority == Priority.URGENT
    incident = Incident.objects.get(kind=IncidentKind.SAFETY)
    assert "I know where your office is and I will hurt you." in incident.customer_quotes
    notification = Notification.objects.get(kind="incident.safety")
    assert notification.recipient == supervisor_a
    assert notification.target_id == incident.pk
    # The email goes out through the worker's task.
    assert deliver_notification_email.call(notification.pk) is True
    assert mail.outbox[0].to == ["sam@example.com"]
    actions = audit_actions(thread.conversation_id)  # type: ignore[arg-type]
    assert "policy.threat_escalated" in actions
    assert "conversation.escalated" in actions


def test_a_threat_after_warnings_still_escalates(
    org: Organisation, team_a: Team, supervisor_a: User
) -> None:
    thread = Thread(org, team_a)
    thread.send("You are a useless idiot, fix my bill.")
    thread.send("If this isn't fixed I'm coming down there and I'll smash your face in.")
    assert thread.state().boundary_step == BoundaryStep.THREAT
    assert Incident.objects.filter(kind=IncidentKind.SAFETY).count() == 1


def test_escalation_rules_through_receive(
    org: Organisation, team_a: Team, supervisor_a: User
) -> None:
    thread = Thread(org, team_a)
    first = thread.send("I will see you in court, my lawyer is ready.")
    assert first.conversation.priority == Priority.HIGH
    assert thread.state().fired_rules == ["legal_threat"]
    assert Incident.objects.filter(kind=IncidentKind.LEGAL).count() == 1

    first.customer.value = Decimal("2500")
    first.customer.save()
    second = thread.send("I'm cancelling and switching to your competitor. Never again.")
    assert second.conversation.priority == Priority.URGENT
    assert thread.state().fired_rules == ["legal_threat", "valuable_customer_leaving"]
    assert "don't want to lose you" in thread.state().suggested_reply
    fired = AuditEvent.objects.filter(action="policy.rule_fired").order_by("id")
    assert [event.data["rule"] for event in fired] == ["legal_threat", "valuable_customer_leaving"]


def test_a_polite_message_triggers_nothing(org: Organisation, team_a: Team) -> None:
    thread = Thread(org, team_a)
    result = thread.send("Hello, could you tell me when my order will arrive? Thanks!")
    assert result.conversation.priority == Priority.NORMAL
    state = thread.state()
    assert (state.boundary_step, state.escalated, state.fired_rules) == (
        BoundaryStep.NONE,
        False,
        [],
    )
    # Nothing to keep, so nothing written; a follow-up that is abusive writes the row.
    assert not ConversationState.objects.filter(conversation_id=thread.conversation_id).exists()
    thread.send("You useless idiot, answer me.")
    stored = ConversationState.objects.get(conversation_id=thread.conversation_id)
    assert stored.abuse_strikes == 1


def test_escalation_hands_over_the_whole_context(
    org: Organisation, team_a: Team, agent_a: User, supervisor_a: User
) -> None:
    from calmdesk.conversations.models import Conversation
    from calmdesk.conversations.services import reply_send

    thread = Thread(org, team_a)
    first = thread.send("My boiler has been broken for a week and nobody came.")
    reply_send(
        conversation=Conversation.objects.get(pk=first.conversation.pk),
        author=agent_a,
        body_text="I'm sorry about the wait. I will book an engineer today.",
        coaching={"techniques": {"apology": 0.9, "ownership": 0.9, "thanks": 0.05}},
    )
    thread.send("I know where your office is and I will hurt you.")

    handover = thread.state().handover
    assert handover["reasons"] == ["The customer threatened violence."]
    assert handover["customer_words"] == ["I know where your office is and I will hurt you."]
    tried = " ".join(handover["tried"])
    assert "replied 1 time" in tried and "apologised" in tried
    assert handover["scores"]["threat"] >= 0.5
    assert handover["playbook"]["next_stage"] in {
        "composure",
        "vent",
        "acknowledge",
        "paraphrase",
        "resolve",
        "record",
        "follow_up",
        None,
    }
    assert handover["playbook"]["stages"]["record"] == "done"  # the safety incident is on file
    notification = Notification.objects.get(kind="incident.safety")
    assert notification.recipient == supervisor_a


def test_a_fresh_escalation_names_what_the_case_lacks_not_only_composure(
    org: Organisation, team_a: Team, supervisor_a: User
) -> None:
    thread = Thread(org, team_a)
    thread.send("I know where your office is and I will hurt you.")
    playbook = thread.state().handover["playbook"]
    # Nobody has answered yet: composure is still to do, but the step shown to the lead is
    # the first stage this case lacks, with its own advice.
    assert playbook["stages"]["composure"] == "todo"
    assert playbook["next_stage"] not in {"composure", None}
    assert playbook["stages"][playbook["next_stage"]] == "todo"
    assert playbook["next_action"]


def test_a_leads_reply_takes_the_escalation_out_of_the_queue(
    org: Organisation, team_a: Team, agent_a: User, supervisor_a: User
) -> None:
    from calmdesk.conversations.models import Conversation
    from calmdesk.conversations.services import reply_send

    thread = Thread(org, team_a)
    thread.send("I know where your office is and I will hurt you.")
    assert thread.state().in_supervisor_queue
    conversation = Conversation.objects.get(pk=thread.conversation_id)

    # An agent's reply leaves the escalation waiting for a lead.
    reply_send(conversation=conversation, author=agent_a, body_text="I'm passing this on now.")
    assert thread.state().in_supervisor_queue
    assert thread.state().taken_over_by is None

    reply_send(
        conversation=conversation,
        author=supervisor_a,
        body_text="I'm the team lead and I'm dealing with this myself from now on.",
    )
    state = thread.state()
    assert not state.in_supervisor_queue
    assert state.taken_over_by == supervisor_a
    taken = AuditEvent.objects.get(action="conversation.taken_over", target_id=conversation.pk)
    assert taken.actor == supervisor_a and taken.data == {"by": "reply"}
    # As with "Take over", the lead now holds the conversation.
    conversation.refresh_from_db()
    assert conversation.assignee == supervisor_a

    # The next threat, veiled but after a plain one, puts it back in the queue.
    thread.send("I meant it. I will be waiting outside your office tonight.")
    assert thread.state().in_supervisor_queue
