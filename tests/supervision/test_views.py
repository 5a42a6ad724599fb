from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.conversations.services import inbound_message_receive
from calmdesk.followups.services import followup_create
from calmdesk.incidents.models import Incident, IncidentStatus
from calmdesk.incidents.services import incident_open
from calmdesk.policies.document import default_policy_raw
from calmdesk.policies.models import Policy
from calmdesk.policies.services import policy_get

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
HOSTILE = "<script>alert(1)</script> you are a useless idiot"


@pytest.fixture
def login() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return make


def receive(org: Organisation, team: Team, body: str, n: int, conversation_id=None):  # type: ignore[no-untyped-def]
    return inbound_message_receive(
        organisation=org,
        channel="chat",
        external_id=f"sv-{n}",
        body_text=body,
        customer_handle="robin",
        customer_name="Robin <b>Vale</b>",
        conversation_id=conversation_id,
        team=team,
    ).conversation


@pytest.fixture
def threatened(org: Organisation, team_a: Team, agent_a: User):  # type: ignore[no-untyped-def]
    conversation = receive(org, team_a, "I know where your office is and I will hurt you.", 1)
    conversation.assignee = agent_a
    conversation.save()
    return conversation


def test_dashboard_shows_escalations_incidents_overdue_and_wellbeing(
    org: Organisation,
    team_a: Team,
    agent_a: User,
    supervisor_a: User,
    login,
    threatened,  # type: ignore[no-untyped-def]
) -> None:
    followup_create(
        conversation=threatened,
        due_at=timezone.now() - timedelta(hours=1),
        description="Ring back about the refund",
        created_by=agent_a,
    )
    response = login(supervisor_a).get(reverse("supervision:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Escalations waiting" in page
    assert "The customer threatened violence." in page
    assert "Safety (threat of violence)" in page
    assert "Ring back about the refund" in page
    assert "Alice" in page  # the agent who took the threat is shown under wellbeing
    assert "1 threat" in page


def test_an_escalation_card_quotes_the_customer_escaped_not_generic_advice(
    org: Organisation, team_a: Team, supervisor_a: User, login
) -> None:  # type: ignore[no-untyped-def]
    receive(org, team_a, "<b>I know where you live</b> and I will hurt you.", 7)
    page = login(supervisor_a).get(reverse("supervision:dashboard")).content.decode()
    assert "&lt;b&gt;I know where you live&lt;/b&gt; and I will hurt you." in page
    assert "<b>I know where you live</b>" not in page
    # The first steps every fresh case shares are not repeated card after card.
    assert "Next: Let the customer say everything first" not in page
    assert "Next: Answer in a calm" not in page


def test_dashboard_partial_for_htmx(supervisor_a: User, login, threatened) -> None:  # type: ignore[no-untyped-def]
    response = login(supervisor_a).get(reverse("supervision:dashboard"), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="dashboard-panels"')
    assert "<html" not in page


def test_agents_do_not_get_the_dashboard(agent_a: User, login) -> None:  # type: ignore[no-untyped-def]
    assert login(agent_a).get(reverse("supervision:dashboard")).status_code == 403


def test_dashboard_needs_login() -> None:
    response = Client().get(reverse("supervision:dashboard"))
    assert response.status_code == 302
    assert reverse("workspace:login") in response["Location"]


def test_supervisor_of_another_team_sees_nothing_of_this_one(
    make_user,
    team_b: Team,
    login,
    threatened,  # type: ignore[no-untyped-def]
) -> None:
    other = make_user("otto", role="supervisor", teams=(team_b,))
    client = login(other)
    incident = Incident.objects.get()
    assert client.get(reverse("supervision:incident", args=[incident.pk])).status_code == 404
    page = client.get(reverse("supervision:dashboard")).content.decode()
    assert "threatened violence" not in page
    assert "Robin" not in page


def test_incident_workflow_in_the_browserless_ui(
    supervisor_a: User,
    agent_a: User,
    login,
    threatened,  # type: ignore[no-untyped-def]
) -> None:
    incident = Incident.objects.get()
    agent = login(agent_a)
    detail = agent.get(reverse("supervision:incident", args=[incident.pk]))
    assert detail.status_code == 200
    assert "I know where your office is and I will hurt you." in detail.content.decode()
    assert "Work the incident" not in detail.content.decode()

    # The agent completes the record but cannot close it.
    agent.post(
        reverse("supervision:incident-record", args=[incident.pk]),
        {"summary": "Customer threatened me after the delivery was late.", "outcome": "Escalated."},
    )
    closing = agent.post(
        reverse("supervision:incident-status", args=[incident.pk]), {"status": "closed"}
    )
    assert closing.status_code == 403
    incident.refresh_from_db()
    assert incident.summary.startswith("Customer threatened me")
    assert incident.status == IncidentStatus.OPEN

    supervisor = login(supervisor_a)
    for status in ("acknowledged", "action_taken", "closed"):
        response = supervisor.post(
            reverse("supervision:incident-status", args=[incident.pk]),
            {"status": status, "note": f"moved to {status}"},
        )
        assert response.status_code == 302
    supervisor.post(
        reverse("supervision:incident-note", args=[incident.pk]), {"body": "Police informed."}
    )
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    assert incident.notes.count() == 4
    # Going back is refused with a message, not a crash.
    response = supervisor.post(
        reverse("supervision:incident-status", args=[incident.pk]),
        {"status": "acknowledged"},
        follow=True,
    )
    assert "cannot move to acknowledged" in response.content.decode()


def test_incident_list_filters_and_escapes(
    org: Organisation,
    team_a: Team,
    admin_user: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    conversation = receive(org, team_a, HOSTILE, 5)
    incident_open(conversation=conversation, kind="complaint", reason="<b>bold</b>", opened_by=None)
    client = login(admin_user)
    page = client.get(reverse("supervision:incidents"), {"kind": "complaint"}).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<b>bold</b>" not in page
    assert "Robin &lt;b&gt;Vale&lt;/b&gt;" in page
    assert (
        "No incidents match"
        in client.get(reverse("supervision:incidents"), {"kind": "legal"}).content.decode()
    )
    detail = client.get(
        reverse("supervision:incident", args=[Incident.objects.get(kind="complaint").pk])
    ).content.decode()
    assert "<script>alert(1)</script>" not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail


def test_agent_reports_an_incident_from_a_conversation(
    org: Organisation,
    team_a: Team,
    agent_a: User,
    agent_b: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    conversation = receive(org, team_a, "The engineer never came and nobody told me.", 6)
    url = reverse("supervision:conversation-report", args=[conversation.pk])
    assert login(agent_b).post(url, {"kind": "complaint"}).status_code == 404
    response = login(agent_a).post(url, {"kind": "complaint", "reason": "Missed visit."})
    incident = Incident.objects.get()
    assert response["Location"] == reverse("supervision:incident", args=[incident.pk])
    assert incident.opened_by == agent_a
    assert "The engineer never came" in incident.summary


def test_policy_editor_admin_saves_and_errors_are_listed(
    org: Organisation,
    admin_user: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    client = login(admin_user)
    page = client.get(reverse("supervision:policy")).content.decode()
    assert "default policy is in use" in page
    assert "legal_threat" in page

    document = default_policy_raw()
    document["boundaries"]["abuse_threshold"] = 0.65
    response = client.post(
        reverse("supervision:policy"), {"mode": "json", "document": json.dumps(document)}
    )
    assert response.status_code == 302
    assert policy_get(organisation=org).boundaries.abuse_threshold == 0.65

    document["boundaries"]["abuse_threshold"] = 2
    document["escalation_rules"][0]["when"][0]["fact"] = "score.mood"
    response = client.post(
        reverse("supervision:policy"), {"mode": "json", "document": json.dumps(document)}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "boundaries.abuse_threshold: must be a number between 0 and 1" in page
    assert "escalation_rules[0].when[0].fact: must name a known fact" in page
    assert Policy.objects.get().revision == 1

    response = client.post(reverse("supervision:policy"), {"mode": "json", "document": "{not json"})
    assert response.status_code == 400
    assert "This is not valid JSON (line 1" in response.content.decode()


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_only_admins_may_post_a_policy(org: Organisation, make_user, login, role: str) -> None:  # type: ignore[no-untyped-def]
    user = make_user(f"u-{role}", role=role)
    client = login(user)
    page = client.get(reverse("supervision:policy"))
    assert page.status_code == 200
    assert "Only admins can change the policy." in page.content.decode()
    response = client.post(
        reverse("supervision:policy"),
        {"mode": "json", "document": json.dumps(default_policy_raw())},
    )
    assert response.status_code == 403
    response = client.post(
        reverse("supervision:policy"), {"mode": "form", "abuse_threshold": "0.1"}
    )
    assert response.status_code == 403
    assert not Policy.objects.exists()


def test_followups_page_and_adding_one(
    org: Organisation,
    team_a: Team,
    agent_a: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    conversation = receive(org, team_a, "Where is my parcel?", 7)
    client = login(agent_a)
    due = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(
        reverse("supervision:conversation-followup", args=[conversation.pk]),
        {"due_at": due, "description": "Tell them what the courier said"},
    )
    page = client.get(reverse("supervision:followups"), {"overdue": "1"}).content.decode()
    assert "Tell them what the courier said" in page
    assert "overdue" in page

    # Kept promises leave the default list and stay under "all".
    followup = conversation.followups.get()
    client.post(reverse("supervision:followup-close", args=[followup.pk]), {"state": "done"})
    page = client.get(reverse("supervision:followups")).content.decode()
    assert "Tell them what the courier said" not in page and "every follow-up has been kept" in page
    page = client.get(reverse("supervision:followups"), {"all": "1"}).content.decode()
    assert "Tell them what the courier said" in page


def test_step_away_and_take_over(
    org: Organisation,
    team_a: Team,
    agent_a: User,
    supervisor_a: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    conversation = receive(org, team_a, "You are a useless idiot.", 8)
    conversation.assignee = agent_a
    conversation.save()
    response = login(agent_a).post(
        reverse("supervision:conversation-step-away", args=[conversation.pk])
    )
    assert response.status_code == 302
    page = login(supervisor_a).get(reverse("supervision:dashboard")).content.decode()
    assert "Take over" in page
    login(supervisor_a).post(reverse("supervision:conversation-take-over", args=[conversation.pk]))
    conversation.refresh_from_db()
    assert conversation.assignee == supervisor_a
    assert login(agent_a).post(
        reverse("supervision:conversation-take-over", args=[conversation.pk])
    ).status_code in (403, 404)


def test_notifications_page(supervisor_a: User, login, threatened) -> None:  # type: ignore[no-untyped-def]
    page = login(supervisor_a).get(reverse("supervision:notifications")).content.decode()
    assert "Safety incident" in page


def test_notifications_are_marked_read_one_by_one_or_all_and_only_ones_own(
    org: Organisation, team_a: Team, supervisor_a: User, make_user, login, threatened
) -> None:  # type: ignore[no-untyped-def]
    from calmdesk.notifications.models import Notification

    receive(org, team_a, "You useless idiots, I know where your office is and I will hurt you.", 8)
    mine = list(Notification.objects.filter(recipient=supervisor_a).order_by("id"))
    assert len(mine) >= 2 and all(n.read_at is None for n in mine)
    client = login(supervisor_a)
    assert "Mark all read" in client.get(reverse("supervision:notifications")).content.decode()
    # Every full page's top bar shows how many are unread.
    inbox = client.get(reverse("workspace:inbox")).content.decode()
    assert f'<span class="unread-count">{len(mine)}</span> new' in inbox

    response = client.post(reverse("supervision:notification-read", args=[mine[0].pk]))
    assert response.status_code == 302
    assert Notification.objects.get(pk=mine[0].pk).read_at is not None
    assert Notification.objects.get(pk=mine[1].pk).read_at is None
    # Another supervisor cannot touch them.
    other = make_user("olga", role="supervisor", teams=(team_a,))
    stranger = login(other).post(reverse("supervision:notification-read", args=[mine[1].pk]))
    assert stranger.status_code == 404
    assert Notification.objects.get(pk=mine[1].pk).read_at is None
    assert (
        client.get(reverse("supervision:notification-read", args=[mine[1].pk])).status_code == 405
    )

    client.post(reverse("supervision:notifications-read-all"))
    assert not Notification.objects.filter(recipient=supervisor_a, read_at__isnull=True).exists()
    page = client.get(reverse("supervision:notifications")).content.decode()
    assert "0 unread." in page and "Mark all read" not in page
    assert "unread-count" not in page


def test_block_a_contact_review_and_unblock_in_the_ui(
    org: Organisation,
    team_a: Team,
    agent_a: User,
    supervisor_a: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    from calmdesk.customers.models import ContactIdentity
    from calmdesk.policies.models import IdentityBlock

    receive(org, team_a, "Hello <b>there</b>", 9)
    identity = ContactIdentity.objects.get(value="robin")
    agent = login(agent_a)
    agent.post(
        reverse("supervision:identity-block", args=[identity.pk]), {"reason": "Threats <i>x</i>"}
    )
    block = IdentityBlock.objects.get()
    page = agent.get(reverse("supervision:blocks")).content.decode()
    assert "Threats &lt;i&gt;x&lt;/i&gt;" in page
    assert "Waiting for review" in page
    assert (
        agent.post(reverse("supervision:block-decide", args=[block.pk]), {"decision": "unblock"})
    ).status_code == 403

    supervisor = login(supervisor_a)
    supervisor.post(reverse("supervision:block-decide", args=[block.pk]), {"decision": "confirm"})
    block.refresh_from_db()
    assert block.reviewed_by == supervisor_a
    supervisor.post(
        reverse("supervision:block-decide", args=[block.pk]),
        {"decision": "unblock", "reason": "Apologised."},
    )
    block.refresh_from_db()
    assert block.unblocked_at is not None
    assert "No contact is blocked" in supervisor.get(reverse("supervision:blocks")).content.decode()


def test_block_from_the_conversation_page_returns_there_and_marks_later_messages(
    org: Organisation,
    team_a: Team,
    agent_a: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    from calmdesk.customers.models import ContactIdentity

    conversation = receive(org, team_a, "You are a useless idiot.", 21)
    identity = ContactIdentity.objects.get(value="robin")
    agent = login(agent_a)
    page_url = reverse("workspace:conversation", args=[conversation.pk])
    page = agent.get(page_url).content.decode()
    # The thread says which identity wrote, and the panel offers to block it.
    assert "from robin" in page
    assert reverse("supervision:identity-block", args=[identity.pk]) in page

    response = agent.post(
        reverse("supervision:identity-block", args=[identity.pk]),
        {"reason": "Insults after a final warning", "next": page_url},
    )
    assert response.status_code == 302 and response["Location"] == page_url
    receive(org, team_a, "Answer me.", 22, conversation_id=conversation.pk)
    page = agent.get(page_url).content.decode()
    assert "from a blocked contact" in page
    assert "blocked " in page and "Block…" not in page

    # A `next` pointing elsewhere is not followed.
    other = ContactIdentity.objects.create(
        organisation=org, customer=conversation.customer, kind="email", value="r@example.org"
    )
    response = agent.post(
        reverse("supervision:identity-block", args=[other.pk]),
        {"reason": "Same person", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("supervision:blocks")


def test_the_reply_box_shows_the_boundary_and_its_suggested_reply_until_answered(
    org: Organisation,
    team_a: Team,
    agent_a: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    from calmdesk.conversations.services import reply_send
    from calmdesk.policies.document import policy_parse

    conversation = receive(org, team_a, "You are a useless idiot, fix my bill.", 31)
    client = login(agent_a)
    url = reverse("workspace:conversation", args=[conversation.pk])
    page = client.get(url).content.decode()
    boundary_reply = policy_parse(default_policy_raw()).boundaries.ladder[0].reply
    assert "Boundary: first warning given." in page
    assert "1 insult aimed at staff so far" in page
    assert boundary_reply.replace("'", "&#x27;") in page
    assert 'data-suggestion="policy-suggestion"' in page

    reply_send(conversation=conversation, author=agent_a, body_text="Let's look at the bill.")
    page = client.get(url).content.decode()
    assert "Boundary: first warning given." in page
    assert 'data-suggestion="policy-suggestion"' not in page

    receive(org, team_a, "Still useless, you idiot.", 32, conversation_id=conversation.pk)
    page = client.get(url).content.decode()
    assert "Boundary: final warning given." in page and "a repeated insult" in page


def test_policy_form_saves_audits_and_keeps_what_was_typed_when_refused(
    org: Organisation,
    admin_user: User,
    login,  # type: ignore[no-untyped-def]
) -> None:
    from calmdesk.audit.models import AuditEvent
    from tests.supervision.test_policy_editor import post_of

    client = login(admin_user)
    page = client.get(reverse("supervision:policy")).content.decode()
    assert 'name="rule-0-id" value="legal_threat"' in page

    data = post_of(default_policy_raw())
    data["abuse_threshold"] = "0.7"
    assert client.post(reverse("supervision:policy"), data).status_code == 302
    assert policy_get(organisation=org).boundaries.abuse_threshold == 0.7
    event = AuditEvent.objects.get(action="policy.updated")
    assert event.actor == admin_user and event.data["after"]["boundaries"]["abuse_threshold"] == 0.7
    page = client.get(reverse("supervision:policy")).content.decode()
    assert "Revision 1" in page and "boundary ladder" in page

    data["threat_threshold"] = "<b>high</b>"
    response = client.post(reverse("supervision:policy"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Threat threshold: &#x27;&lt;b&gt;high&lt;/b&gt;&#x27; is not a number" in page
    assert Policy.objects.get().revision == 1
