"""What the policy does for given engine readings (the engine itself is not involved here)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Priority
from calmdesk.incidents.models import Incident
from calmdesk.notifications.models import Notification
from calmdesk.policies.document import PolicyInvalid, default_policy_raw
from calmdesk.policies.models import BoundaryStep, ConversationState, Policy
from calmdesk.policies.services import (
    PolicyPermissionDenied,
    conversation_step_away,
    conversation_take_over,
    inbound_policy_apply,
    policy_get,
    policy_update,
)
from tests.policies.factories import add_inbound, make_conversation, reading

pytestmark = pytest.mark.django_db

INSULT = "You are a useless idiot."


def apply(conversation, text: str, assessment):  # type: ignore[no-untyped-def]
    message = add_inbound(conversation, text, assessment)
    return inbound_policy_apply(message=message, conversation=conversation)


def insult():  # type: ignore[no-untyped-def]
    return reading(INSULT, flags=(("abuse", "useless idiot"),), abuse=0.9, anger=0.8)


def test_untargeted_profanity_is_tolerated(org: Organisation, team_a: Team) -> None:
    conversation = make_conversation(org, team=team_a)
    text = "This damn kettle broke again."
    outcome = apply(conversation, text, reading(text, flags=(("profanity", "damn"),), anger=0.5))

    assert outcome.boundary_action == "tolerated_profanity"
    assert outcome.boundary_step == BoundaryStep.NONE
    assert outcome.suggested_reply == ""
    assert AuditEvent.objects.filter(action="policy.profanity_tolerated").count() == 1


def test_profanity_counts_as_a_strike_when_the_policy_says_so(
    org: Organisation, admin_user: User
) -> None:
    document = default_policy_raw()
    document["boundaries"]["tolerate_untargeted_profanity"] = False
    policy_update(organisation=org, actor=admin_user, document=document)
    conversation = make_conversation(org)
    text = "This damn kettle broke again."
    outcome = apply(conversation, text, reading(text, flags=(("profanity", "damn"),)))
    assert outcome.boundary_action == "warned"


def test_the_ladder_climbs_one_rung_per_insult(
    org: Organisation, team_a: Team, supervisor_a: User, agent_a: User
) -> None:
    conversation = make_conversation(org, team=team_a, assignee=agent_a)

    first = apply(conversation, INSULT, insult())
    assert first.boundary_action == "warned"
    assert "personal insults" in first.suggested_reply
    assert not first.escalated
    assert Incident.objects.count() == 0

    second = apply(conversation, INSULT, insult())
    assert second.boundary_action == "final_warning"
    assert "last time" in second.suggested_reply

    third = apply(conversation, INSULT, insult())
    assert third.boundary_action == "ended"
    assert third.escalated
    assert third.notified_user_ids == (supervisor_a.pk,)
    incident = Incident.objects.get()
    assert incident.kind == "abuse"
    assert incident.team == team_a
    assert "useless idiot" in incident.summary
    assert third.incident_ids == (incident.pk,)

    state = ConversationState.objects.get(conversation=conversation)
    assert state.boundary_step == BoundaryStep.ENDED
    assert state.abuse_strikes == 3
    assert state.in_supervisor_queue
    conversation.refresh_from_db()
    assert conversation.priority == Priority.HIGH
    steps = AuditEvent.objects.filter(action="policy.boundary_step").order_by("id")
    assert [event.data["step"] for event in steps] == ["warned", "final_warning", "ended"]

    # A fourth insult stays at the top and adds to the same incident.
    fourth = apply(conversation, INSULT, insult())
    assert fourth.boundary_action == "ended"
    assert Incident.objects.count() == 1
    assert Incident.objects.get().notes.count() == 1


def test_threat_escalates_at_once_with_a_safety_incident_and_notification(
    org: Organisation, team_a: Team, supervisor_a: User, team_b: Team, make_user
) -> None:
    supervisor_a.email = "sam@example.com"
    supervisor_a.save()
    other_supervisor = make_user("otto", role="supervisor", teams=(team_b,))
    conversation = make_conversation(org, team=team_a)
    text = "I know where your office is and I will hurt you."
    outcome = apply(
        conversation, text, reading(text, flags=(("threat", "I will hurt you"),), threat=0.95)
    )

    assert outcome.boundary_action == BoundaryStep.THREAT
    assert outcome.escalated
    incident = Incident.objects.get(kind="safety")
    assert "I will hurt you" in incident.summary
    notified = Notification.objects.filter(kind="incident.safety")
    assert [n.recipient for n in notified] == [supervisor_a]
    assert not Notification.objects.filter(recipient=other_supervisor).exists()
    conversation.refresh_from_db()
    assert conversation.priority == Priority.URGENT
    actions = set(AuditEvent.objects.filter(organisation=org).values_list("action", flat=True))
    assert {"policy.threat_escalated", "incident.opened", "conversation.escalated"} <= actions


def test_escalation_rule_for_a_valuable_customer_who_wants_to_leave(
    org: Organisation, supervisor_a: User, team_a: Team
) -> None:
    conversation = make_conversation(org, team=team_a)
    conversation.customer.value = Decimal("5000")
    conversation.customer.save()
    text = "I am cancelling and moving to your competitor."
    outcome = apply(conversation, text, reading(text, churn=0.8))

    assert outcome.fired_rules == ("valuable_customer_leaving",)
    assert outcome.escalated
    assert outcome.priority == Priority.URGENT
    assert "don't want to lose you" in outcome.suggested_reply
    assert Notification.objects.filter(kind="conversation.escalated").count() == 1

    # The same customer of low value: no escalation.
    cheap = make_conversation(org, team=team_a)
    assert apply(cheap, text, reading(text, churn=0.8)).fired_rules == ()


def test_a_rule_fires_once_per_conversation(org: Organisation, supervisor_a: User) -> None:
    conversation = make_conversation(org)
    text = "My solicitor will hear about this."
    first = apply(conversation, text, reading(text, legal=0.9))
    second = apply(conversation, text, reading(text, legal=0.9))
    assert first.fired_rules == ("legal_threat",)
    assert second.fired_rules == ()
    assert Incident.objects.filter(kind="legal").count() == 1
    assert Notification.objects.filter(recipient=supervisor_a).count() == 1


def test_repeated_contact_over_several_conversations(org: Organisation) -> None:
    first = make_conversation(org)
    make_conversation(org, customer=first.customer)
    third = make_conversation(org, customer=first.customer)
    outcome = apply(third, "Still broken.", reading("Still broken."))
    assert "repeated_contact" in outcome.fired_rules
    assert ConversationState.objects.get(conversation=third).in_supervisor_queue


def test_calm_message_does_nothing(org: Organisation) -> None:
    conversation = make_conversation(org)
    outcome = apply(conversation, "Thanks, that works.", reading("Thanks", gratitude=0.9))
    assert outcome.boundary_action is None
    assert outcome.fired_rules == ()
    assert not outcome.escalated
    assert not AuditEvent.objects.filter(action__startswith="policy.").exists()


# --- editing the policy ------------------------------------------------------------------


def test_admin_updates_policy_and_it_is_audited(org: Organisation, admin_user: User) -> None:
    document = default_policy_raw()
    document["boundaries"]["abuse_threshold"] = 0.7
    policy_update(organisation=org, actor=admin_user, document=document)
    document["boundaries"]["abuse_threshold"] = 0.8
    policy = policy_update(organisation=org, actor=admin_user, document=document)

    assert policy.revision == 2
    assert policy_get(organisation=org).boundaries.abuse_threshold == 0.8
    events = AuditEvent.objects.filter(action="policy.updated").order_by("id")
    assert [e.data["after"]["boundaries"]["abuse_threshold"] for e in events] == [0.7, 0.8]
    assert events.last().data["before"]["boundaries"]["abuse_threshold"] == 0.7  # type: ignore[union-attr]
    assert events.last().actor == admin_user  # type: ignore[union-attr]


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_only_admins_edit_policy(org: Organisation, make_user, role: str) -> None:
    user = make_user(f"user-{role}", role=role)
    with pytest.raises(PolicyPermissionDenied):
        policy_update(organisation=org, actor=user, document=default_policy_raw())
    assert not Policy.objects.exists()


def test_admin_of_another_org_cannot_edit(
    org: Organisation, other_org: Organisation, make_user
) -> None:
    outsider = make_user("eve", role="admin", organisation=other_org)
    with pytest.raises(PolicyPermissionDenied):
        policy_update(organisation=org, actor=outsider, document=default_policy_raw())


def test_invalid_policy_is_refused_and_nothing_changes(org: Organisation, admin_user: User) -> None:
    with pytest.raises(PolicyInvalid):
        policy_update(organisation=org, actor=admin_user, document={"version": 1})
    assert not Policy.objects.exists()
    assert not AuditEvent.objects.filter(action="policy.updated").exists()


# --- protecting the agent ------------------------------------------------------------------


def test_agent_steps_away_and_supervisor_takes_over(
    org: Organisation, team_a: Team, agent_a: User, supervisor_a: User
) -> None:
    conversation = make_conversation(org, team=team_a, assignee=agent_a)
    state = conversation_step_away(conversation=conversation, agent=agent_a)
    conversation.refresh_from_db()
    assert conversation.assignee is None
    assert state.in_supervisor_queue
    assert Notification.objects.filter(
        recipient=supervisor_a, kind="conversation.agent_stepped_away"
    ).exists()

    with pytest.raises(PolicyPermissionDenied):
        conversation_take_over(conversation=conversation, supervisor=agent_a)
    state = conversation_take_over(conversation=conversation, supervisor=supervisor_a)
    conversation.refresh_from_db()
    assert conversation.assignee == supervisor_a
    assert state.taken_over_by == supervisor_a
    assert not state.in_supervisor_queue


def test_facts_that_cost_a_query_are_read_only_when_asked(
    org: Organisation, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from calmdesk.policies.services import policy_facts

    conversation = make_conversation(org)
    message = add_inbound(conversation, "Hello", reading("Hello", anger=0.25))
    conversation.refresh_from_db()
    with django_assert_num_queries(0):
        facts = policy_facts(message=message, conversation=conversation)
        assert facts["score.anger"] == 0.25
        assert facts.get("flag.abuse") is None
    with django_assert_num_queries(1):
        assert facts["customer.recent_conversations"] == 1.0
        assert facts["customer.recent_conversations"] == 1.0  # computed once
    with django_assert_num_queries(1):
        assert facts["conversation.inbound_messages"] == 1.0
