from __future__ import annotations

import pytest
from django.http import Http404

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.conversations.models import Conversation
from calmdesk.conversations.selectors import (
    InboxFilters,
    access_conversation,
    inbox_conversations,
    visible_conversations,
)
from calmdesk.conversations.services import conversation_assign, inbound_message_receive
from calmdesk.customers.selectors import access_customer

pytestmark = pytest.mark.django_db


def conversation_in(
    org: Organisation, team: Team | None, external_id: str, body: str = "Help"
) -> Conversation:
    return inbound_message_receive(
        organisation=org,
        channel="api",
        external_id=external_id,
        body_text=body,
        customer_email=f"{external_id}@example.com",
        team=team,
    ).conversation


def test_agents_see_their_team_and_triage_not_other_teams(
    org: Organisation, team_a: Team, team_b: Team, agent_a: User, agent_b: User
) -> None:
    mine = conversation_in(org, team_a, "a")
    theirs = conversation_in(org, team_b, "b")
    triage = conversation_in(org, None, "t")

    assert set(visible_conversations(agent_a)) == {mine, triage}
    assert access_conversation(agent_a, mine.pk) == mine
    with pytest.raises(Http404):
        access_conversation(agent_a, theirs.pk)
    with pytest.raises(Http404):
        access_customer(agent_a, theirs.customer_id)


def test_assigned_conversation_is_visible_to_assignee_and_their_supervisor(
    org: Organisation,
    team_a: Team,
    team_b: Team,
    agent_a: User,
    supervisor_a: User,
    admin_user: User,
) -> None:
    other = conversation_in(org, team_b, "x")
    assert other not in visible_conversations(supervisor_a)
    conversation_assign(conversation=other, actor=admin_user, assignee=agent_a)
    assert other in visible_conversations(agent_a)
    assert other in visible_conversations(supervisor_a)
    assert visible_conversations(supervisor_a).filter(pk=other.pk).count() == 1


def test_admin_sees_whole_org_only(
    org: Organisation, other_org: Organisation, team_a: Team, admin_user: User
) -> None:
    ours = conversation_in(org, team_a, "o")
    foreign = conversation_in(other_org, None, "f")
    assert ours in visible_conversations(admin_user)
    with pytest.raises(Http404):
        access_conversation(admin_user, foreign.pk)


def test_inbox_orders_by_risk_and_filters(
    org: Organisation, team_a: Team, admin_user: User
) -> None:
    calm = conversation_in(org, team_a, "calm", "When do you open on Sunday? Thanks!")
    furious = conversation_in(
        org,
        team_a,
        "furious",
        "This is the THIRD time!!! You idiots charged me twice, I want my money back or I sue.",
    )
    ordered = list(inbox_conversations(admin_user, InboxFilters(sort="risk")))
    assert ordered.index(furious) < ordered.index(calm)
    assert list(inbox_conversations(admin_user, InboxFilters(status="resolved"))) == []
    assert set(inbox_conversations(admin_user, InboxFilters(unassigned=True))) == {calm, furious}
