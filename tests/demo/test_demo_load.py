from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate

from calmdesk.accounts.models import Organisation, Role, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Channel, Conversation, Direction, Message, Status
from calmdesk.customers.models import Customer
from calmdesk.demo.services import DemoError, demo_data, demo_load, demo_logins, logins_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded() -> Any:
    return demo_load()


def _inbound_assessments(organisation: Organisation) -> list[dict[str, Any]]:
    return list(
        Message.objects.filter(organisation=organisation, direction=Direction.INBOUND)
        .exclude(assessment=None)
        .values_list("assessment", flat=True)
    )


def _flag_kinds(assessment: dict[str, Any]) -> set[str]:
    return {flag["kind"] for flag in assessment.get("flags", [])}


def test_the_packaged_data_is_consistent() -> None:
    data = demo_data()
    assert len(data.conversations) >= 45
    assert {staff.role for staff in data.staff} == {Role.AGENT, Role.SUPERVISOR, Role.ADMIN}
    assert data.time_zone == "Europe/London"


def test_loads_staff_teams_customers_and_conversations(loaded: Any) -> None:
    organisation = loaded.organisation
    assert organisation.time_zone == "Europe/London"
    assert loaded.conversations == Conversation.objects.filter(organisation=organisation).count()
    assert loaded.conversations >= 45
    assert loaded.messages == Message.objects.filter(organisation=organisation).count()
    roles = list(User.objects.filter(organisation=organisation).values_list("role", flat=True))
    assert roles.count(Role.AGENT) >= 5
    assert 1 <= roles.count(Role.SUPERVISOR) <= 2
    assert roles.count(Role.ADMIN) == 1
    assert organisation.teams.count() >= 3

    conversations = Conversation.objects.filter(organisation=organisation)
    assert set(conversations.values_list("channel", flat=True)) == {Channel.EMAIL, Channel.CHAT}
    assert len(set(conversations.values_list("status", flat=True))) >= 5
    assert conversations.filter(assignee=None).exists()
    assert len(set(conversations.values_list("assignee", flat=True))) >= 7
    directions = set(
        Message.objects.filter(organisation=organisation).values_list("direction", flat=True)
    )
    assert directions == {Direction.INBOUND, Direction.OUTBOUND, Direction.NOTE}
    # Multi-turn threads, customers with several identities and repeat conversations.
    assert any(c.messages.count() >= 5 for c in conversations)
    assert (
        Customer.objects.filter(organisation=organisation, identities__kind="handle")
        .filter(identities__kind="email")
        .exists()
    )
    repeaters = [
        c
        for c in Customer.objects.filter(organisation=organisation)
        if c.conversations.count() >= 2
    ]
    assert len(repeaters) >= 5


def test_timestamps_spread_over_about_three_weeks(loaded: Any) -> None:
    conversations = Conversation.objects.filter(organisation=loaded.organisation)
    created = sorted(conversations.values_list("created_at", flat=True))
    assert (created[-1] - created[0]).days >= 18
    for conversation in conversations:
        times = list(conversation.messages.order_by("id").values_list("created_at", flat=True))
        assert times == sorted(times), conversation.subject
        # The clock runs on during a turn: the conversation is created a moment before
        # its first message.
        assert abs((times[0] - conversation.created_at).total_seconds()) < 1
        if conversation.status in (Status.RESOLVED, Status.CLOSED):
            assert conversation.resolved_at is not None and conversation.waiting_since is None
    # The audit log follows the story's time, not the moment of loading.
    assert (
        AuditEvent.objects.filter(organisation=loaded.organisation).dates("at", "day").count() >= 15
    )


def test_difficult_conversations_are_read_as_difficult_by_the_engine(loaded: Any) -> None:
    assessments = _inbound_assessments(loaded.organisation)
    kinds = set().union(*(_flag_kinds(a) for a in assessments))
    for kind in ("threat", "abuse", "legal", "public", "churn", "refund", "repeat_contact"):
        scored = [a for a in assessments if a["scores"][kind] >= 0.5]
        assert kind in kinds or scored, f"no demo message reads as {kind}"
    assert any(a["scores"]["gratitude"] >= 0.5 for a in assessments)
    # The ordering of the inbox has something to show.
    risks = Conversation.objects.filter(organisation=loaded.organisation).values_list(
        "risk", flat=True
    )
    assert max(risks) >= 0.7 and min(risks) <= 0.3


def test_logins_file_is_private_and_the_passwords_work(loaded: Any, demo_settings: Path) -> None:
    path = logins_path()
    assert path == demo_settings / "demo-logins.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = json.loads(path.read_text())
    assert written["organisation"] == "Northwind Home & Energy"
    assert demo_logins() == loaded.logins
    assert {login.role for login in loaded.logins} == {"agent", "supervisor", "admin"}
    passwords = [login.password for login in loaded.logins]
    assert len(set(passwords)) == len(passwords)
    for username, password, _role in loaded.logins:
        assert len(password) >= 16
        assert authenticate(username=username, password=password) is not None


def test_loading_twice_changes_nothing(loaded: Any) -> None:
    messages = Message.objects.count()
    again = demo_load()
    assert again.created is False
    assert again.organisation.pk == loaded.organisation.pk
    assert again.logins == loaded.logins
    assert Message.objects.count() == messages
    assert Organisation.objects.filter(slug="northwind").count() == 1


def test_reset_reloads_with_new_passwords_and_leaves_other_organisations_alone(
    loaded: Any, org: Organisation, agent_a: User
) -> None:
    from calmdesk.conversations.services import inbound_message_receive

    inbound_message_receive(
        organisation=org,
        channel="email",
        external_id="<keep@me>",
        body_text="Hello there",
        customer_email="someone@example.com",
    )
    before = Message.objects.filter(organisation=loaded.organisation).count()
    reloaded = demo_load(reset=True)
    assert reloaded.created is True
    assert reloaded.organisation.pk != loaded.organisation.pk
    assert not Organisation.objects.filter(pk=loaded.organisation.pk).exists()
    assert Message.objects.filter(organisation=reloaded.organisation).count() == before
    assert {x.password for x in reloaded.logins}.isdisjoint({x.password for x in loaded.logins})
    assert demo_logins() == reloaded.logins
    assert Message.objects.filter(organisation=org).count() == 1
    assert User.objects.filter(pk=agent_a.pk).exists()


def test_a_lost_logins_file_gets_new_passwords(loaded: Any) -> None:
    logins_path().unlink()
    summary = demo_load()
    assert summary.created is False
    assert summary.logins and summary.logins != loaded.logins
    login = summary.logins[0]
    assert authenticate(username=login.username, password=login.password) is not None


def test_a_clashing_username_is_a_clear_error(make_user: Any) -> None:
    make_user("priya")
    with pytest.raises(DemoError, match="priya"):
        demo_load()
    assert not Organisation.objects.filter(slug="northwind").exists()


def test_the_command_loads_and_prints_the_logins(capsys: pytest.CaptureFixture[str]) -> None:
    from calmdesk.cli import main

    assert main(["demo", "--no-migrate"]) == 0
    first = capsys.readouterr().out
    assert "Loaded Northwind Home & Energy" in first
    for username, password, role in demo_logins():
        assert f"{username}" in first and password in first and role in first
    assert main(["demo", "--no-migrate"]) == 0
    assert "Already loaded" in capsys.readouterr().out
    old_passwords = {login.password for login in demo_logins()}
    assert main(["demo", "--reset", "--no-migrate"]) == 0
    assert "Loaded" in capsys.readouterr().out
    assert old_passwords.isdisjoint({login.password for login in demo_logins()})


def test_the_demo_shows_every_rule_of_the_default_policy_firing(loaded: Any) -> None:
    from calmdesk.followups.models import FollowUp, FollowUpState
    from calmdesk.incidents.models import Incident
    from calmdesk.policies.document import default_policy_raw
    from calmdesk.policies.models import BlockedMessage, BoundaryStep, ConversationState

    organisation = loaded.organisation
    states = ConversationState.objects.filter(conversation__organisation=organisation)
    fired = {rule for state in states for rule in state.fired_rules}
    rule_ids = {rule["id"] for rule in default_policy_raw()["escalation_rules"]}
    assert rule_ids <= fired, f"never fired in the demo: {sorted(rule_ids - fired)}"
    steps = set(states.values_list("boundary_step", flat=True))
    assert {
        BoundaryStep.WARNED,
        BoundaryStep.FINAL_WARNING,
        BoundaryStep.ENDED,
        BoundaryStep.THREAT,
    } <= steps
    kinds = set(Incident.objects.filter(organisation=organisation).values_list("kind", flat=True))
    assert {"abuse", "safety", "legal"} <= kinds
    # Supervisors have worked some of them: the workflow has something to show.
    statuses = set(
        Incident.objects.filter(organisation=organisation).values_list("status", flat=True)
    )
    assert {"open", "acknowledged", "closed"} <= statuses

    # Escalations are dated when they happened in the story, not when the demo loaded.
    escalated_at = [state.escalated_at for state in states if state.escalated]
    assert len({moment.date() for moment in escalated_at if moment}) >= 5

    # Promises in the agents' replies became follow-ups: some kept, some overdue now.
    followups = FollowUp.objects.filter(conversation__organisation=organisation)
    assert followups.filter(state=FollowUpState.DONE).exists()
    assert followups.filter(state=FollowUpState.OPEN, overdue_raised_at__isnull=False).exists()
    assert followups.filter(state=FollowUpState.OPEN, due_at__gt=loaded_now()).exists()

    # A blocked address: its later message is kept and marked, the customer's other
    # address is not blocked.
    marked = BlockedMessage.objects.filter(message__organisation=organisation).select_related(
        "message__sender", "block__identity"
    )
    assert marked.exists()
    blocked_identity = marked[0].block.identity
    assert marked[0].message.sender == blocked_identity
    other = blocked_identity.customer.identities.exclude(pk=blocked_identity.pk)
    assert other.exists()
    assert not other.filter(blocks__isnull=False, blocks__unblocked_at__isnull=True).exists()


def test_the_dashboard_has_someone_to_look_after(loaded: Any) -> None:
    from calmdesk.supervision.selectors import strained_agents

    supervisor = User.objects.get(
        organisation=loaded.organisation, role=Role.SUPERVISOR, username="grace"
    )
    strained = strained_agents(supervisor)
    assert strained and strained[0].abusive_messages >= 2


def loaded_now() -> Any:
    from django.utils import timezone

    return timezone.now()


def test_the_replayed_notifications_are_not_emailed_again(loaded: Any) -> None:
    from calmdesk.notifications.models import Notification

    notifications = Notification.objects.filter(organisation=loaded.organisation)
    assert notifications.exists()
    assert not notifications.filter(emailed_at__isnull=True).exists()
