"""Escalation, boundary step and playbook on a conversation; incidents and follow-ups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from calmdesk.accounts.models import Team, User
from calmdesk.conversations.services import ReceiveResult, conversation_assign
from calmdesk.followups.services import followup_create
from tests.api.conftest import ApiCaller, error_of

pytestmark = pytest.mark.django_db

Receive = Callable[..., ReceiveResult]
STAGES = ["composure", "vent", "acknowledge", "paraphrase", "resolve", "record", "follow_up"]
THREAT = "I know where your office is and I will hurt you."


@pytest.fixture
def alice(agent_a: User, api_as: Callable[[User], ApiCaller]) -> ApiCaller:
    return api_as(agent_a)


def test_a_calm_conversation_is_not_escalated(alice: ApiCaller, receive: Receive) -> None:
    conversation = receive("p-1", "Could you tell me when my order ships?").conversation

    body = alice.get(f"/conversations/{conversation.pk}").json()

    assert body["escalated"] is False
    assert body["escalation_reasons"] == []
    assert body["boundary_step"] == "none"
    assert [stage["name"] for stage in body["playbook"]["stages"]] == STAGES
    assert body["playbook"]["next_action"]


def test_a_threat_escalates_and_opens_a_safety_incident(
    alice: ApiCaller, receive: Receive, supervisor_a: User
) -> None:
    conversation = receive("p-2", THREAT).conversation

    body = alice.get(f"/conversations/{conversation.pk}").json()

    assert body["escalated"] is True
    assert body["escalation_reasons"]
    assert body["boundary_step"] == "threat"

    listed = alice.get("/incidents", conversation=conversation.pk).json()
    assert listed["total"] == 1
    (incident,) = listed["items"]
    assert incident["kind"] == "safety"
    assert incident["status"] == "open"
    assert incident["conversation_id"] == conversation.pk
    assert alice.get("/incidents", kind="legal").json()["total"] == 0
    assert alice.get("/incidents", status="closed").json()["total"] == 0
    assert alice.get("/incidents", status="all").json()["total"] == 1


def test_incidents_follow_conversation_visibility(
    receive: Receive,
    admin_user: User,
    agent_b: User,
    team_a: Team,
    api_as: Callable[[User], ApiCaller],
) -> None:
    conversation = receive("p-3", THREAT).conversation
    conversation_assign(conversation=conversation, actor=admin_user, assignee=None, team=team_a)

    assert api_as(agent_b).get("/incidents").json()["total"] == 0
    assert api_as(admin_user).get("/incidents").json()["total"] == 1


def test_followups_and_the_overdue_filter(
    alice: ApiCaller, receive: Receive, agent_a: User
) -> None:
    conversation = receive("p-4", "Please call me back about my refund.").conversation
    now = timezone.now()
    late = followup_create(
        conversation=conversation,
        due_at=now - timedelta(hours=2),
        description="Call back about the refund",
        created_by=agent_a,
    )
    later = followup_create(
        conversation=conversation,
        due_at=now + timedelta(days=1),
        description="Check the refund arrived",
        created_by=agent_a,
    )

    everything = alice.get("/followups").json()
    overdue = alice.get("/followups", overdue="true").json()

    assert [item["id"] for item in everything["items"]] == [late.pk, later.pk]
    assert [item["overdue"] for item in everything["items"]] == [True, False]
    assert overdue["total"] == 1 and overdue["items"][0]["id"] == late.pk
    assert overdue["items"][0]["created_by"]["username"] == "alice"
    mine = alice.get("/followups", conversation=conversation.pk).json()
    assert mine["total"] == 2


def test_followups_of_hidden_conversations_are_not_listed(
    receive: Receive,
    admin_user: User,
    agent_b: User,
    team_a: Team,
    api_as: Callable[[User], ApiCaller],
) -> None:
    conversation = receive("p-5", "Ring me tomorrow.").conversation
    conversation_assign(conversation=conversation, actor=admin_user, assignee=None, team=team_a)
    followup_create(
        conversation=conversation,
        due_at=timezone.now() + timedelta(hours=3),
        description="Ring the customer",
        created_by=admin_user,
    )
    assert api_as(agent_b).get("/followups").json()["total"] == 0
    assert api_as(admin_user).get("/followups").json()["total"] == 1


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/incidents", {"kind": "meteor"}),
        ("/incidents", {"status": "lost"}),
        ("/incidents", {"limit": 0}),
        ("/incidents", {"conversation": "x"}),
        ("/followups", {"overdue": "perhaps"}),
        ("/followups", {"due": "today"}),
    ],
)
def test_bad_filters_are_422(alice: ApiCaller, path: str, params: dict[str, object]) -> None:
    response = alice.get(path, **params)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
