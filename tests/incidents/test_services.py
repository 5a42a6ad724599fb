from __future__ import annotations

import pytest

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Direction, Message
from calmdesk.incidents.models import IncidentStatus
from calmdesk.incidents.selectors import (
    IncidentFilters,
    access_incident,
    incident_list,
    incidents_by_customer,
    incidents_by_topic,
    visible_incidents,
)
from calmdesk.incidents.services import (
    IncidentError,
    IncidentPermissionDenied,
    incident_action_add,
    incident_draft_from_conversation,
    incident_note_add,
    incident_open,
    incident_record_update,
    incident_transition,
)
from calmdesk.notifications.models import Notification
from tests.policies.factories import add_inbound, make_conversation, reading

pytestmark = pytest.mark.django_db

RANT = (
    "I have called four times about this bill. Honestly, you people are clueless "
    "idiots. Fix it today or I will take you to court."
)


def rant_reading():  # type: ignore[no-untyped-def]
    return reading(
        RANT,
        flags=(("abuse", "clueless idiots"), ("legal", "take you to court")),
        abuse=0.9,
        legal=0.8,
    )


def add_reply(conversation, agent: User, text: str, techniques=None) -> Message:  # type: ignore[no-untyped-def]
    return Message.objects.create(
        organisation=conversation.organisation,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        author=agent,
        channel=conversation.channel,
        body_text=text,
        coaching={"techniques": techniques or {}},
    )


def test_draft_quotes_the_customer_and_says_what_the_agent_tried(
    org: Organisation, agent_a: User
) -> None:
    conversation = make_conversation(org, topic="billing")
    add_inbound(conversation, RANT, rant_reading())
    add_reply(
        conversation,
        agent_a,
        "I'm sorry the bill is wrong. I will correct it by 5pm.",
        {"apology": 0.9, "ownership": 0.9, "thanks": 0.05},
    )

    draft = incident_draft_from_conversation(
        conversation=conversation, kind="abuse", reason="Insults aimed at the agent."
    )
    assert draft.customer_quotes == ("Honestly, you people are clueless idiots.",)
    assert "apologised" in " ".join(draft.agent_attempts)
    assert "took ownership" in " ".join(draft.agent_attempts)
    assert "thanked" not in " ".join(draft.agent_attempts)
    assert "Last reply: \"I'm sorry the bill is wrong." in " ".join(draft.agent_attempts)
    assert draft.summary.startswith("What happened: Insults aimed at the agent.")
    assert '- "Honestly, you people are clueless idiots."' in draft.summary
    assert draft.topic == "billing"

    legal = incident_draft_from_conversation(conversation=conversation, kind="legal", reason="x")
    assert legal.customer_quotes == ("Fix it today or I will take you to court.",)


def test_draft_says_where_and_when_in_the_organisations_time_zone(org: Organisation) -> None:
    from datetime import UTC, datetime

    org.time_zone = "America/New_York"
    org.save()
    conversation = make_conversation(org, subject="Broken kettle")
    message = add_inbound(conversation, RANT, rant_reading())
    Message.objects.filter(pk=message.pk).update(
        created_at=datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    )
    draft = incident_draft_from_conversation(conversation=conversation, kind="abuse", reason="r")
    second_line = draft.summary.splitlines()[1]
    assert second_line == (
        'Where and when: Web chat conversation "Broken kettle" with Pat Doyle; '
        "the customer last wrote on Mon 02 Mar 2026, 10:30 (America/New_York)."
    )


def test_draft_without_flags_quotes_the_latest_words(org: Organisation) -> None:
    conversation = make_conversation(org)
    add_inbound(conversation, "The parcel never came.", reading("The parcel never came."))
    draft = incident_draft_from_conversation(
        conversation=conversation, kind="complaint", reason="r"
    )
    assert draft.customer_quotes == ("The parcel never came.",)
    assert "No reply had been sent" in draft.agent_attempts[0]


def test_draft_rejects_unknown_kind(org: Organisation) -> None:
    with pytest.raises(IncidentError):
        incident_draft_from_conversation(
            conversation=make_conversation(org), kind="alien", reason="r"
        )


@pytest.fixture
def incident(org: Organisation, team_a: Team, agent_a: User):  # type: ignore[no-untyped-def]
    conversation = make_conversation(org, team=team_a, assignee=agent_a)
    add_inbound(conversation, RANT, rant_reading())
    return incident_open(
        conversation=conversation, kind="abuse", reason="Insulted the agent.", opened_by=agent_a
    )


def test_open_is_audited_and_does_not_duplicate(incident, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    again = incident_open(
        conversation=incident.conversation, kind="abuse", reason="Again.", opened_by=agent_a
    )
    assert again.pk == incident.pk
    assert AuditEvent.objects.filter(action="incident.opened", target_id=incident.pk).count() == 1
    # Abuse incidents do not page anyone; safety incidents do (see below).
    assert not Notification.objects.exists()


def test_safety_incident_notifies_team_supervisors(
    org: Organisation, team_a: Team, supervisor_a: User
) -> None:
    conversation = make_conversation(org, team=team_a)
    incident_open(conversation=conversation, kind="safety", reason="Threat.", opened_by=None)
    assert Notification.objects.get().recipient == supervisor_a


def test_supervisor_works_the_incident_through_to_closed(
    incident,
    supervisor_a: User,  # type: ignore[no-untyped-def]
) -> None:
    incident_transition(incident=incident, actor=supervisor_a, status="acknowledged")
    incident_action_add(incident=incident, actor=supervisor_a, description="Call the customer")
    incident_transition(
        incident=incident, actor=supervisor_a, status="action_taken", note="Called, apologised."
    )
    closed = incident_transition(incident=incident, actor=supervisor_a, status="closed")

    assert closed.status == IncidentStatus.CLOSED
    assert closed.closed_at is not None and closed.acknowledged_at is not None
    assert [n.body for n in closed.notes.all()] == ["Called, apologised."]
    changes = AuditEvent.objects.filter(action="incident.status_changed").order_by("id")
    assert [(e.data["before"], e.data["after"]) for e in changes] == [
        ("open", "acknowledged"),
        ("acknowledged", "action_taken"),
        ("action_taken", "closed"),
    ]
    with pytest.raises(IncidentError):
        incident_transition(incident=closed, actor=supervisor_a, status="acknowledged")
    reopened = incident_transition(incident=closed, actor=supervisor_a, status="open")
    assert reopened.closed_at is None


def test_agents_cannot_close_or_move_incidents(incident, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    for status in ("acknowledged", "closed"):
        with pytest.raises(IncidentPermissionDenied):
            incident_transition(incident=incident, actor=agent_a, status=status)
    with pytest.raises(IncidentPermissionDenied):
        incident_action_add(incident=incident, actor=agent_a, description="x")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN


def test_agent_completes_the_record_and_adds_notes(incident, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    incident_record_update(
        incident=incident,
        actor=agent_a,
        summary=incident.summary + "\nThe customer calmed down after the warning.",
        outcome="Ended politely.",
    )
    incident_note_add(incident=incident, actor=agent_a, body="I took a short break after.")
    incident.refresh_from_db()
    assert incident.summary.endswith("calmed down after the warning.")
    assert incident.notes.count() == 1
    with pytest.raises(IncidentError):
        incident_record_update(incident=incident, actor=agent_a, summary="  ", outcome="")


def test_supervisors_see_and_work_only_their_teams(
    incident,
    make_user,
    team_b: Team,
    supervisor_a: User,
    admin_user: User,  # type: ignore[no-untyped-def]
) -> None:
    other_supervisor = make_user("otto", role="supervisor", teams=(team_b,))
    assert list(visible_incidents(supervisor_a)) == [incident]
    assert list(visible_incidents(other_supervisor)) == []
    assert list(visible_incidents(admin_user)) == [incident]
    with pytest.raises(IncidentPermissionDenied):
        incident_transition(incident=incident, actor=other_supervisor, status="acknowledged")
    from django.http import Http404

    with pytest.raises(Http404):
        access_incident(other_supervisor, incident.pk)
    assert access_incident(supervisor_a, incident.pk) == incident


def test_agents_see_incidents_of_conversations_they_can_see(
    incident,
    agent_a: User,
    agent_b: User,  # type: ignore[no-untyped-def]
) -> None:
    assert list(visible_incidents(agent_a)) == [incident]
    assert list(visible_incidents(agent_b)) == []
    with pytest.raises(IncidentPermissionDenied):
        incident_note_add(incident=incident, actor=agent_b, body="hi")


def test_other_organisation_sees_nothing(incident, other_org: Organisation, make_user) -> None:  # type: ignore[no-untyped-def]
    outsider = make_user("eve", role="admin", organisation=other_org)
    assert not visible_incidents(outsider).exists()
    with pytest.raises(IncidentPermissionDenied):
        incident_transition(incident=incident, actor=outsider, status="closed")


def test_list_filters_and_recurring_causes(
    org: Organisation,
    team_a: Team,
    admin_user: User,
    incident,  # type: ignore[no-untyped-def]
) -> None:
    billing = make_conversation(org, team=team_a, topic="billing", customer=incident.customer)
    incident_open(conversation=billing, kind="legal", reason="Court.", opened_by=None)
    incident_open(conversation=billing, kind="complaint", reason="Unhappy.", opened_by=None)

    assert {i.kind for i in incident_list(admin_user, IncidentFilters(kind="legal"))} == {"legal"}
    assert incident_list(admin_user, IncidentFilters(conversation_id=billing.pk)).count() == 2
    incident_transition(incident=incident, actor=admin_user, status="closed")
    assert incident_list(admin_user, IncidentFilters()).count() == 2
    assert incident_list(admin_user, IncidentFilters(status="all")).count() == 3

    by_topic = incidents_by_topic(admin_user)
    assert (by_topic[0].key, by_topic[0].count) == ("billing", 2)
    by_customer = incidents_by_customer(admin_user)
    assert len(by_customer) == 1 and by_customer[0].count == 3
