"""The live coach in the reply box, the blocking-send guard, and stored coaching."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from calmdesk.accounts.models import Team, User
from calmdesk.conversations.models import Conversation, Direction
from tests.workspace.conftest import HOSTILE, htmx

pytestmark = pytest.mark.django_db

Receive = Callable[..., Conversation]
Login = Callable[[User], Client]

RUDE_DRAFT = "Calm down. You need to read the terms, it is not my job. You idiot."
GOOD_DRAFT = (
    "I am so sorry the parcel still has not arrived, I can see how frustrating that is. "
    "I will call the courier now and email you an update by 3pm today."
)


@pytest.fixture
def conversation(receive: Receive, team_a: Team) -> Conversation:
    return receive(
        "This is the third time I write!! My parcel is two weeks late and nobody answers.",
        team=team_a,
        subject="Parcel two weeks late",
    )


def coach_url(conversation: Conversation) -> str:
    return reverse("workspace:conversation-coach", args=[conversation.pk])


def reply_url(conversation: Conversation) -> str:
    return reverse("workspace:conversation-reply", args=[conversation.pk])


class RewriteButtons(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.buttons: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "button" and "data-rewrite" in attributes:
            self.buttons.append(attributes)


def test_reply_box_is_wired_to_the_live_coach(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    html = (
        login(agent_a)
        .get(reverse("workspace:conversation", args=[conversation.pk]))
        .content.decode()
    )
    assert f'hx-post="{coach_url(conversation)}"' in html
    assert 'hx-trigger="input changed delay:400ms"' in html
    assert 'id="coach-panel"' in html
    assert 'id="playbook-panel"' in html
    assert "Acknowledge and apologise" in html


def test_coach_marks_problems_offers_rewrites_and_asks_to_confirm_blocking(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    client = login(agent_a)
    for headers in ({}, htmx()):
        response = client.post(coach_url(conversation), {"body": RUDE_DRAFT}, **headers)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.strip().startswith('<div id="coach-panel"')
        assert "<html" not in html
        assert 'class="finding finding-avoid severity-high"' in html
        assert "severity-blocking" in html
        assert 'name="confirm_blocking"' in html
        parser = RewriteButtons()
        parser.feed(html)
        assert parser.buttons, "avoid findings come with one-click rewrites"
        for button in parser.buttons:
            start, end = int(button["data-start"] or -1), int(button["data-end"] or -1)
            assert RUDE_DRAFT[start:end] == button["data-original"]
            assert button["data-replacement"]
    # Coaching is advice only: nothing was stored.
    assert not conversation.messages.filter(direction=Direction.OUTBOUND).exists()


def test_good_draft_ticks_techniques_and_needs_no_confirmation(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    html = (
        login(agent_a)
        .post(coach_url(conversation), {"body": GOOD_DRAFT}, **htmx())
        .content.decode()
    )
    assert "technique technique-done" in html
    assert "✓ Apology" in html
    assert "confirm_blocking" not in html


def test_coach_escapes_the_draft(login: Login, agent_a: User, conversation: Conversation) -> None:
    draft = f"You idiot {HOSTILE}"
    html = login(agent_a).post(coach_url(conversation), {"body": draft}, **htmx()).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_empty_draft_gives_an_empty_review_not_an_error(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    response = login(agent_a).post(coach_url(conversation), {}, **htmx())
    assert response.status_code == 200
    assert 'id="coach-panel"' in response.content.decode()


def test_coach_of_another_teams_conversation_is_404(
    login: Login, agent_b: User, conversation: Conversation
) -> None:
    assert login(agent_b).post(coach_url(conversation), {"body": "hi"}, **htmx()).status_code == 404


def test_blocking_reply_is_refused_without_confirmation(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    client = login(agent_a)
    full = client.post(reply_url(conversation), {"body": RUDE_DRAFT})
    assert full.status_code == 400
    assert "tick the box to confirm" in full.content.decode()
    partial = client.post(reply_url(conversation), {"body": RUDE_DRAFT}, **htmx())
    html = partial.content.decode()
    assert html.strip().startswith('<section id="reply-box"')
    assert "tick the box to confirm" in html
    assert 'name="confirm_blocking"' in html
    assert "Calm down. You need to read the terms" in html  # the draft is kept
    assert not conversation.messages.filter(direction=Direction.OUTBOUND).exists()


def test_confirmed_blocking_reply_is_sent_with_its_coaching(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    response = login(agent_a).post(
        reply_url(conversation), {"body": RUDE_DRAFT, "confirm_blocking": "on"}
    )
    assert response.status_code == 302
    reply = conversation.messages.get(direction=Direction.OUTBOUND)
    assert reply.coaching is not None
    rules = {finding["rule"] for finding in reply.coaching["findings"]}
    assert {"insult", "dismissing_emotion"} <= rules
    assert reply.coaching["blocking"]
    assert 0 <= reply.coaching["score"] <= 100


def test_good_reply_is_sent_with_coaching_and_its_promise(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    response = login(agent_a).post(reply_url(conversation), {"body": GOOD_DRAFT}, **htmx())
    assert response.status_code == 200
    assert "Reply sent." in response.content.decode()
    reply = conversation.messages.get(direction=Direction.OUTBOUND)
    assert reply.coaching["score"] > 50
    assert not reply.coaching["blocking"]
    assert reply.coaching["promises"], "an update by 3pm today is a promise"
    assert (
        "coach "
        in login(agent_a)
        .get(reverse("workspace:conversation", args=[conversation.pk]))
        .content.decode()
    )


def test_promise_in_a_sent_reply_shows_as_a_follow_up(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    client = login(agent_a)
    page = client.get(reverse("workspace:conversation", args=[conversation.pk])).content.decode()
    assert "No call-back promised yet." in page
    response = client.post(reply_url(conversation), {"body": GOOD_DRAFT}, **htmx())
    html = response.content.decode()
    assert 'id="care-panel" class="card care" hx-swap-oob="true"' in html
    assert conversation.followups.count() >= 1
    assert conversation.followups.first().description.split()[0] in html
    assert "No call-back promised yet." not in html


def _stage_classes(html: str, stage: str) -> str:
    found = re.search(rf'<li class="([^"]*)" data-stage="{stage}"', html)
    assert found, f"no {stage} stage on the page"
    return found.group(1)


def test_the_playbook_panel_counts_an_incident_on_record(
    login: Login, agent_a: User, receive: Receive, team_a: Team
) -> None:
    from calmdesk.incidents.services import incident_open

    conversation = receive(
        "I'll sue you lot and see you in court, this is the third time I write.", team=team_a
    )
    # The policy may already have recorded it; start from a case with no record.
    conversation.incidents.all().delete()
    client = login(agent_a)
    url = reverse("workspace:conversation", args=[conversation.pk])
    assert "stage-todo" in _stage_classes(client.get(url).content.decode(), "record")

    incident_open(conversation=conversation, kind="legal", reason="Legal threat", opened_by=agent_a)
    assert "stage-done" in _stage_classes(client.get(url).content.decode(), "record")
