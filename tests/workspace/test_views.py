"""The workspace pages: who may see what, full pages and HTMX partials, escaping, PRG."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Conversation, Direction, Message, Priority, Status
from calmdesk.customers.models import Customer
from calmdesk.workspace.rendering import RISK_FLAG_KINDS
from tests.workspace.conftest import HOSTILE, htmx

pytestmark = pytest.mark.django_db

Receive = Callable[..., Conversation]
Login = Callable[[User], Client]


@pytest.fixture
def conversation(receive: Receive, team_a: Team) -> Conversation:
    return receive(
        f"This is the third time I write. {HOSTILE} You are useless!",
        team=team_a,
        subject=f"Refund {HOSTILE}",
    )


def conversation_urls(conversation: Conversation) -> dict[str, str]:
    pk = conversation.pk
    return {
        "detail": reverse("workspace:conversation", args=[pk]),
        "reply": reverse("workspace:conversation-reply", args=[pk]),
        "note": reverse("workspace:conversation-note", args=[pk]),
        "assign": reverse("workspace:conversation-assign", args=[pk]),
        "status": reverse("workspace:conversation-status", args=[pk]),
        "priority": reverse("workspace:conversation-priority", args=[pk]),
        "coach": reverse("workspace:conversation-coach", args=[pk]),
    }


# -- anonymous ------------------------------------------------------------------


def test_every_page_sends_anonymous_users_to_login(conversation: Conversation) -> None:
    client = Client()
    gets = [
        reverse("workspace:inbox"),
        reverse("workspace:customers"),
        reverse("workspace:customer", args=[conversation.customer_id]),
        conversation_urls(conversation)["detail"],
    ]
    posts = [
        *(url for key, url in conversation_urls(conversation).items() if key != "detail"),
        reverse("workspace:customer-notes", args=[conversation.customer_id]),
    ]
    login_url = reverse("workspace:login")
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{login_url}?next="), url
    for url in posts:
        response = client.post(url, {"body": "hello"})
        assert response.status_code == 302, url
        assert response["Location"].startswith(login_url), url
    assert Message.objects.count() == 1  # nothing was written


def test_anonymous_htmx_request_is_redirected_as_a_whole_page(conversation: Conversation) -> None:
    response = Client().get(reverse("workspace:inbox"), **htmx())
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("workspace:login"))


def test_login_page_and_login_flow(agent_a: User) -> None:
    client = Client()
    page = client.get(reverse("workspace:login"))
    assert page.status_code == 200
    assert b'name="password"' in page.content
    bad = client.post(reverse("workspace:login"), {"username": "alice", "password": "wrong"})
    assert bad.status_code == 200
    assert b"form-errors" in bad.content
    good = client.post(
        reverse("workspace:login"), {"username": "alice", "password": "a-long-test-password"}
    )
    assert good.status_code == 302
    assert good["Location"] == reverse("workspace:inbox")


def test_logout_is_a_post(login: Login, agent_a: User) -> None:
    client = login(agent_a)
    page = client.get(reverse("workspace:inbox"))
    assert f'action="{reverse("workspace:logout")}"'.encode() in page.content
    assert client.get(reverse("workspace:logout")).status_code == 405
    response = client.post(reverse("workspace:logout"))
    assert response.status_code == 302
    assert client.get(reverse("workspace:inbox")).status_code == 302


# -- inbox ----------------------------------------------------------------------


def test_inbox_full_page_and_partial(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    client = login(agent_a)
    full = client.get(reverse("workspace:inbox"))
    assert full.status_code == 200
    html = full.content.decode()
    assert "<html" in html and 'id="inbox-list"' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "/static/calmdesk/vendor/htmx.min.js" in html
    assert "Agent" in html  # the role in the user menu

    partial = client.get(reverse("workspace:inbox"), **htmx())
    assert partial.status_code == 200
    body = partial.content.decode()
    assert "<html" not in body
    assert body.strip().startswith('<section id="inbox-list"')
    assert f'href="{reverse("workspace:conversation", args=[conversation.pk])}"' in body


def test_boosted_request_gets_the_whole_page(login: Login, agent_a: User) -> None:
    response = login(agent_a).get(reverse("workspace:inbox"), **htmx(HTTP_HX_BOOSTED="true"))
    assert "<html" in response.content.decode()


def test_inbox_row_shows_risk_flags_waiting_and_escapes_the_subject(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    html = login(agent_a).get(reverse("workspace:inbox")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    conversation.refresh_from_db()
    kinds = {
        flag["kind"]
        for message in conversation.messages.all()
        for flag in (message.assessment or {}).get("flags", [])
    }
    for kind in kinds & set(RISK_FLAG_KINDS):
        assert f"chip chip-flag flag-{kind}" in html
    assert "Casey Customer" in html
    assert '<td class="waiting"><time datetime="' in html
    assert "risk-badge risk-" in html


def test_agent_of_another_team_does_not_see_the_conversation(
    login: Login, agent_b: User, conversation: Conversation
) -> None:
    html = login(agent_b).get(reverse("workspace:inbox")).content.decode()
    assert conversation.subject[:6] not in html
    assert "0 conversations" in html


def test_inbox_filters(
    login: Login, agent_a: User, supervisor_a: User, receive: Receive, team_a: Team
) -> None:
    mine = receive("Mine please", team=team_a, email="m@example.com", subject="Assigned to Alice")
    nobody = receive("Nobody yet", team=team_a, email="n@example.com", subject="Unassigned one")
    done = receive("Thanks, all fine", team=team_a, email="d@example.com", subject="Resolved one")
    from calmdesk.conversations.services import conversation_assign, conversation_set_status

    conversation_assign(conversation=mine, actor=agent_a, assignee=agent_a)
    conversation_assign(conversation=done, actor=agent_a, assignee=supervisor_a)
    conversation_set_status(conversation=done, actor=agent_a, status=Status.RESOLVED)
    client = login(agent_a)

    def subjects(**params: str) -> set[str]:
        html = client.get(reverse("workspace:inbox"), params, **htmx()).content.decode()
        return {s for s in ("Assigned to Alice", "Unassigned one", "Resolved one") if s in html}

    assert subjects() == {"Assigned to Alice", "Unassigned one"}  # all open by default
    assert subjects(status="all") == {"Assigned to Alice", "Unassigned one", "Resolved one"}
    assert subjects(status="resolved") == {"Resolved one"}
    assert subjects(assignee="mine") == {"Assigned to Alice"}
    assert subjects(assignee="unassigned") == {"Unassigned one"}
    assert subjects(status="all", assignee=str(supervisor_a.pk)) == {"Resolved one"}
    assert subjects(team=str(team_a.pk)) == {"Assigned to Alice", "Unassigned one"}
    # Garbage in the query string falls back to the defaults instead of failing.
    assert subjects(status="nonsense", team="x", assignee="';drop", sort="??") == {
        "Assigned to Alice",
        "Unassigned one",
    }
    assert nobody.assignee_id is None


def test_inbox_sorts(login: Login, agent_a: User, receive: Receive, team_a: Team) -> None:
    calm = receive(
        "Could you tell me when my order ships?",
        team=team_a,
        email="c@example.com",
        subject="Calm question",
    )
    angry = receive(
        "You useless idiots, I will sue you!!!",
        team=team_a,
        email="a@example.com",
        subject="Angry complaint",
    )
    client = login(agent_a)
    Conversation.objects.filter(pk=calm.pk).update(priority=Priority.URGENT)

    def order(sort: str) -> list[str]:
        html = client.get(reverse("workspace:inbox"), {"sort": sort}, **htmx()).content.decode()
        return sorted(("Calm question", "Angry complaint"), key=html.index)

    angry.refresh_from_db()
    calm.refresh_from_db()
    if angry.risk > calm.risk:
        assert order("risk") == ["Angry complaint", "Calm question"]
    assert order("newest") == ["Angry complaint", "Calm question"]
    assert order("waiting") == ["Calm question", "Angry complaint"]
    assert order("priority") == ["Calm question", "Angry complaint"]
    waiting = client.get(reverse("workspace:inbox"), {"sort": "waiting"}, **htmx()).content.decode()
    assert "· waiting longest" in waiting


def test_inbox_paginates_25_per_page_with_working_links(
    login: Login, agent_a: User, receive: Receive, team_a: Team
) -> None:
    for number in range(27):
        receive(
            f"Question number {number}",
            team=team_a,
            email=f"p{number}@example.com",
            subject=f"Question {number:02d}",
        )
    client = login(agent_a)
    first = client.get(reverse("workspace:inbox"), {"sort": "newest"}).content.decode()
    assert first.count('class="inbox-row') == 25
    assert "page 1 of 2" in first
    assert 'href="?sort=newest&amp;page=2"' in first
    second = client.get(
        reverse("workspace:inbox"), {"sort": "newest", "page": "2"}
    ).content.decode()
    assert second.count('class="inbox-row') == 2
    assert "Question 00" in second and "Question 26" not in second
    # Out-of-range and junk page numbers still give a page.
    assert client.get(reverse("workspace:inbox"), {"page": "999"}).status_code == 200
    assert client.get(reverse("workspace:inbox"), {"page": "abc"}).status_code == 200


def _inbox_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("workspace:inbox"))
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_inbox_query_count_does_not_grow_with_the_page(
    login: Login,
    agent_a: User,
    receive: Receive,
    team_a: Team,
    team_b: Team,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    client = login(agent_a)
    for number in range(5):
        conversation = receive(
            "You idiots, this is useless!", team=team_a, email=f"q{number}@example.com"
        )
        receive(
            "Still waiting!", team=team_a, email=f"q{number}@example.com", conversation=conversation
        )
    few = _inbox_queries(client)
    for number in range(5, 30):
        conversation = receive(
            "You idiots, this is useless!", team=team_a, email=f"q{number}@example.com"
        )
        receive(
            "Still waiting!", team=team_a, email=f"q{number}@example.com", conversation=conversation
        )
    # A full page of 25 rows costs exactly what 5 rows cost.
    with django_assert_num_queries(few):
        response = client.get(reverse("workspace:inbox"))
    assert response.content.decode().count('class="inbox-row') == 25
    # session, user, organisation (time zone, user menu), team choices, staff
    # choices, the user's teams (visibility), count, page, flags, unread notifications
    assert few <= 10


# -- conversation page ------------------------------------------------------------


def test_conversation_page_full_and_partial(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    client = login(agent_a)
    url = conversation_urls(conversation)["detail"]
    full = client.get(url)
    assert full.status_code == 200
    html = full.content.decode()
    assert "<html" in html
    for part in ('id="thread"', 'id="reply-box"', 'id="note-box"', 'id="controls"', "<svg"):
        assert part in html
    partial = client.get(url, **htmx())
    body = partial.content.decode()
    assert "<html" not in body and body.strip().startswith('<section id="thread"')


def test_conversation_page_escapes_customer_text_and_highlights_flags(
    login: Login, agent_a: User, receive: Receive, team_a: Team
) -> None:
    conversation = receive(
        f"{HOSTILE}\nYou are useless and I will call my lawyer.",
        team=team_a,
        body_html=f"<p>Hello <b>there</b></p>{HOSTILE}<a href='javascript:alert(3)'>x</a>",
    )
    html = login(agent_a).get(conversation_urls(conversation)["detail"]).content.decode()
    assert "<script>alert" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")
    assert "javascript:alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<b>there</b>" in html  # the sanitised email HTML keeps harmless formatting
    message = conversation.messages.get()
    for flag in message.assessment["flags"]:
        assert f"flag flag-{flag['kind']}" in html
    assert 'class="chips"' in html or not message.assessment["flags"]


def test_conversation_of_another_team_is_404_everywhere(
    login: Login, agent_b: User, conversation: Conversation
) -> None:
    client = login(agent_b)
    urls = conversation_urls(conversation)
    assert client.get(urls["detail"]).status_code == 404
    assert client.get(urls["detail"], **htmx()).status_code == 404
    for key in ("reply", "note", "assign", "status", "priority", "coach"):
        assert (
            client.post(urls[key], {"body": "x", "status": "closed", "priority": "4"}).status_code
            == 404
        ), key
    assert conversation.messages.count() == 1
    conversation.refresh_from_db()
    assert conversation.status == Status.NEW
    missing = reverse("workspace:conversation", args=[conversation.pk + 1000])
    assert client.get(missing).status_code == 404


def test_agent_of_another_organisation_gets_404(
    login: Login, make_user: Callable[..., User], other_org, conversation: Conversation
) -> None:
    outsider = make_user("olga", organisation=other_org)
    client = login(outsider)
    assert client.get(conversation_urls(conversation)["detail"]).status_code == 404
    assert (
        client.get(reverse("workspace:customer", args=[conversation.customer_id])).status_code
        == 404
    )


def test_supervisor_and_admin_can_open_it(
    login: Login, supervisor_a: User, admin_user: User, conversation: Conversation
) -> None:
    for user in (supervisor_a, admin_user):
        assert login(user).get(conversation_urls(conversation)["detail"]).status_code == 200


def test_reply_post_redirect_get(login: Login, agent_a: User, conversation: Conversation) -> None:
    client = login(agent_a)
    urls = conversation_urls(conversation)
    response = client.post(urls["reply"], {"body": "I am sorry about this. I will fix it today."})
    assert response.status_code == 302
    assert response["Location"] == urls["detail"]
    reply = conversation.messages.get(direction=Direction.OUTBOUND)
    assert reply.author == agent_a
    assert reply.body_text == "I am sorry about this. I will fix it today."
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING_CUSTOMER
    assert conversation.assignee == agent_a
    page = client.get(urls["detail"]).content.decode()
    assert "Reply sent." in page
    assert "message message-outbound" in page


def test_reply_with_htmx_swaps_the_reply_box_and_updates_thread_and_controls(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    client = login(agent_a)
    response = client.post(
        conversation_urls(conversation)["reply"], {"body": "Thank you for waiting."}, **htmx()
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<section id="reply-box"')
    assert 'id="thread" class="thread-section" hx-swap-oob="true"' in html
    assert 'id="controls" class="card controls" hx-swap-oob="true"' in html
    assert "Thank you for waiting." in html
    assert "Reply sent." in html
    assert "<html" not in html


def test_empty_reply_is_a_form_error_not_a_crash(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    client = login(agent_a)
    urls = conversation_urls(conversation)
    full = client.post(urls["reply"], {"body": "   "})
    assert full.status_code == 400
    assert "form-errors" in full.content.decode()
    partial = client.post(urls["reply"], {"body": ""}, **htmx())
    assert partial.status_code == 200
    assert partial.content.decode().strip().startswith('<section id="reply-box"')
    assert "form-errors" in partial.content.decode()
    assert not conversation.messages.filter(direction=Direction.OUTBOUND).exists()


def test_note_full_and_htmx(login: Login, agent_a: User, conversation: Conversation) -> None:
    client = login(agent_a)
    urls = conversation_urls(conversation)
    assert client.post(urls["note"], {"body": "Customer called twice."}).status_code == 302
    response = client.post(urls["note"], {"body": f"Pasted: {HOSTILE}"}, **htmx())
    html = response.content.decode()
    assert html.strip().startswith('<section id="note-box"')
    assert 'hx-swap-oob="true"' in html
    assert "<script>alert" not in html and "Pasted: &lt;script&gt;" in html
    assert conversation.messages.filter(direction=Direction.NOTE).count() == 2
    assert client.post(urls["note"], {"body": ""}).status_code == 400


def test_status_and_priority(login: Login, agent_a: User, conversation: Conversation) -> None:
    client = login(agent_a)
    urls = conversation_urls(conversation)
    assert client.post(urls["status"], {"status": "pending_us"}).status_code == 302
    response = client.post(urls["priority"], {"priority": "4"}, **htmx())
    assert response.content.decode().strip().startswith('<section id="controls"')
    assert "Priority set to urgent." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING_US
    assert conversation.priority == Priority.URGENT
    bad = client.post(urls["status"], {"status": "exploded"})
    assert bad.status_code == 400
    bad_htmx = client.post(urls["priority"], {"priority": "99"}, **htmx())
    assert "form-errors" in bad_htmx.content.decode()
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING_US
    assert AuditEvent.objects.filter(action="conversation.status_changed").count() == 1


def test_assign_to_me_teammate_and_team(
    login: Login,
    agent_a: User,
    supervisor_a: User,
    team_b: Team,
    conversation: Conversation,
    make_user: Callable[..., User],
    team_a: Team,
) -> None:
    client = login(agent_a)
    urls = conversation_urls(conversation)
    assert client.post(urls["assign"], {"to_me": "1"}).status_code == 302
    conversation.refresh_from_db()
    assert conversation.assignee == agent_a

    response = client.post(urls["assign"], {"assignee": str(supervisor_a.pk), "team": ""}, **htmx())
    assert response.status_code == 200
    assert "Assignment updated." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee == supervisor_a and conversation.team == team_a

    # Handing it to another team's queue takes it out of the agent's sight: back to the inbox.
    response = client.post(urls["assign"], {"assignee": "", "team": str(team_b.pk)})
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:inbox")
    conversation.refresh_from_db()
    assert conversation.team == team_b and conversation.assignee is None


def test_assign_to_someone_of_another_organisation_is_a_form_error(
    login: Login,
    agent_a: User,
    conversation: Conversation,
    make_user: Callable[..., User],
    other_org,
) -> None:
    outsider = make_user("otto", organisation=other_org)
    response = login(agent_a).post(
        conversation_urls(conversation)["assign"], {"assignee": str(outsider.pk)}
    )
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_customer_panel_lists_other_conversations(
    login: Login, agent_a: User, receive: Receive, team_a: Team, team_b: Team
) -> None:
    first = receive("Invoice is wrong", team=team_a, subject="Invoice question")
    receive("Parcel is late", team=team_a, subject="Late parcel")
    receive("Other team case", team=team_b, subject="Hidden from Alice")
    html = login(agent_a).get(conversation_urls(first)["detail"]).content.decode()
    assert "Late parcel" in html
    assert "Hidden from Alice" not in html
    assert "casey@example.com" in html


# -- customers ----------------------------------------------------------------------


def test_customer_page_history_and_notes(
    login: Login, agent_a: User, receive: Receive, team_a: Team, team_b: Team
) -> None:
    first = receive("Invoice is wrong", team=team_a, subject="Invoice question")
    receive("Hidden", team=team_b, subject="Other team case")
    customer = first.customer
    client = login(agent_a)
    url = reverse("workspace:customer", args=[customer.pk])
    html = client.get(url).content.decode()
    assert "Invoice question" in html and "Other team case" not in html
    assert "casey@example.com" in html

    notes_url = reverse("workspace:customer-notes", args=[customer.pk])
    response = client.post(notes_url, {"notes": f"Prefers email. {HOSTILE}"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.notes == f"Prefers email. {HOSTILE}"
    html = client.get(url).content.decode()
    assert "&lt;script&gt;alert(1)" in html and "<script>alert" not in html

    partial = client.post(notes_url, {"notes": "Calls after 5pm."}, **htmx())
    assert partial.content.decode().strip().startswith('<section id="customer-notes"')
    assert "Notes saved." in partial.content.decode()
    customer.refresh_from_db()
    assert customer.notes == "Calls after 5pm."


def test_customer_of_another_team_is_404(
    login: Login, agent_b: User, conversation: Conversation
) -> None:
    client = login(agent_b)
    customer_id = conversation.customer_id
    assert client.get(reverse("workspace:customer", args=[customer_id])).status_code == 404
    response = client.post(reverse("workspace:customer-notes", args=[customer_id]), {"notes": "x"})
    assert response.status_code == 404
    assert Customer.objects.get(pk=customer_id).notes == ""


def test_customer_search(
    login: Login, agent_a: User, agent_b: User, receive: Receive, team_a: Team
) -> None:
    receive("Hi", team=team_a, email="jordan.lee@example.com", name="Jordan Lee")
    receive("Hi", team=team_a, email="sam@example.com", name="Sam Stone")
    client = login(agent_a)
    by_name = client.get(reverse("workspace:customers"), {"q": "jordan"}).content.decode()
    assert "Jordan Lee" in by_name and "Sam Stone" not in by_name
    by_email = client.get(reverse("workspace:customers"), {"q": "sam@"}).content.decode()
    assert "Sam Stone" in by_email and "Jordan Lee" not in by_email
    hostile = client.get(reverse("workspace:customers"), {"q": HOSTILE}).content.decode()
    assert "<script>alert" not in hostile
    # Bob's team has no conversation with either customer.
    assert (
        "Jordan Lee"
        not in login(agent_b).get(reverse("workspace:customers"), {"q": "jordan"}).content.decode()
    )


def test_customer_list_shows_what_is_open_and_sorts(
    login: Login,
    agent_a: User,
    receive: Receive,
    team_a: Team,
    team_b: Team,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from calmdesk.customers.selectors import customer_activity, customers_ordered

    angry = receive(
        "I know where your office is and I will hurt you.",
        team=team_a,
        email="ada@example.com",
        name="Ada Angry",
    )
    receive("Where is my parcel?", team=team_b, email="ada@example.com", name="Ada Angry")
    calm = receive("Thanks, all sorted.", team=team_a, email="bo@example.com", name="Bo Calm")
    Conversation.objects.filter(pk=calm.pk).update(
        status=Status.RESOLVED, last_message_at=timezone.now() + timedelta(minutes=5)
    )
    Customer.objects.filter(pk=angry.customer_id).update(value=10)
    Customer.objects.filter(pk=calm.customer_id).update(value=900)

    # What agent_a may see: team A's conversations only (Ada's team B one is not counted).
    activity = customer_activity(agent_a, [angry.customer_id, calm.customer_id])
    assert activity[angry.customer_id].conversations == 1
    assert activity[angry.customer_id].open_conversations == 1
    assert activity[angry.customer_id].open_risk >= 0.5
    assert activity[calm.customer_id].open_conversations == 0
    assert activity[calm.customer_id].open_risk == 0.0

    def names(order: str) -> list[str]:
        return [str(c) for c in customers_ordered(agent_a, "", order=order, limit=50)]

    assert names("name") == ["Ada Angry", "Bo Calm"]
    assert names("recent") == ["Bo Calm", "Ada Angry"]
    assert names("value") == ["Bo Calm", "Ada Angry"]
    assert [str(c) for c in customers_ordered(agent_a, "bo@", order="recent", limit=50)] == [
        "Bo Calm"
    ]
    assert [str(c) for c in customers_ordered(agent_a, "", order="recent", limit=1)] == ["Bo Calm"]

    client = login(agent_a)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("workspace:customers"), {"order": "recent"}).content.decode()
    assert page.index("Bo Calm") < page.index("Ada Angry")
    assert "1 open" in page and "900.00" in page
    fallback = client.get(reverse("workspace:customers"), {"order": "<script>"})
    assert fallback.status_code == 200
    page = fallback.content.decode()
    assert page.index("Ada Angry") < page.index("Bo Calm")


def test_static_assets_are_served_locally(client: Client) -> None:
    for path in (
        "/static/calmdesk/vendor/htmx.min.js",
        "/static/calmdesk/workspace.css",
        "/static/calmdesk/workspace.js",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert content
    htmx_js = b"".join(client.get("/static/calmdesk/vendor/htmx.min.js").streaming_content)
    assert b"Zero-Clause BSD" in htmx_js[:300]


def test_every_outbound_message_is_listed_in_order(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    client = login(agent_a)
    urls = conversation_urls(conversation)
    client.post(urls["reply"], {"body": "First answer"})
    client.post(urls["note"], {"body": "Middle note"})
    client.post(urls["reply"], {"body": "Second answer"})
    html = client.get(urls["detail"]).content.decode()
    assert html.index("First answer") < html.index("Middle note") < html.index("Second answer")
    assert html.count("message message-outbound") == 2
    assert html.count("message message-note") == 1
    assert Message.objects.filter(conversation=conversation).count() == 4


def test_account_outside_any_organisation_is_refused(db: None) -> None:
    User.objects.create_superuser("root", password="a-long-test-password")
    client = Client()
    assert client.login(username="root", password="a-long-test-password")
    assert client.get(reverse("workspace:inbox")).status_code == 403


def _page_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_conversation_page_query_count_does_not_grow_with_the_thread(
    login: Login, agent_a: User, receive: Receive, team_a: Team
) -> None:
    from calmdesk.conversations.services import note_add, reply_send

    client = login(agent_a)
    conversation = receive("My order is late!", team=team_a)
    url = reverse("workspace:conversation", args=[conversation.pk])
    few = _page_queries(client, url)
    for number in range(8):
        receive(f"Still late, day {number}!", team=team_a, conversation=conversation)
        reply_send(
            conversation=conversation, author=agent_a, body_text=f"Sorry, checking {number}."
        )
        note_add(conversation=conversation, author=agent_a, body_text=f"Note {number}")
        receive(f"Other case {number}", team=team_a, subject=f"Other {number}")
        out_of_office(conversation, agent_a, number)
    many = _page_queries(client, url)
    assert few == many
    assert client.get(url).content.decode().count('class="system-entry ') == 8
    # 13 for the thread and its panels; then one each for the policy's state, the active
    # blocks of the customer's identities, whether the case has an incident on record,
    # the raw emails, deliveries and attachments of the thread, and its machine mail; and
    # the top bar's unread notifications.
    assert many <= 21, many


def test_thread_poll_is_empty_until_a_new_message_arrives(
    login: Login, agent_a: User, receive: Receive, team_a: Team, conversation: Conversation
) -> None:
    client = login(agent_a)
    url = conversation_urls(conversation)["detail"]
    newest = conversation.messages.order_by("-id").first()
    assert newest is not None
    page = client.get(url).content.decode()
    oldest = conversation.messages.order_by("id").first()
    assert oldest is not None
    assert f'hx-get="{url}?after={newest.pk}&amp;deliveries={oldest.pk}.none"' in page
    assert 'hx-trigger="every 20s"' in page

    quiet = client.get(url, {"after": str(newest.pk)}, **htmx())
    assert quiet.status_code == 204
    assert quiet.content == b""

    receive("Hello?? Anyone there?", team=team_a, conversation=conversation)
    arrived = conversation.messages.order_by("-id").first()
    assert arrived is not None and arrived.pk > newest.pk
    fresh = client.get(url, {"after": str(newest.pk)}, **htmx())
    assert fresh.status_code == 200
    html = fresh.content.decode()
    assert f'id="message-{arrived.pk}"' in html
    assert f'hx-get="{url}?after={arrived.pk}&amp;deliveries={oldest.pk}.none"' in html
    # A plain page load ignores `after` and shows the whole page.
    assert "<html" in client.get(url, {"after": str(newest.pk)}).content.decode()


def test_safety_actions_and_follow_up_form_post_to_supervision(
    login: Login, agent_a: User, supervisor_a: User, conversation: Conversation
) -> None:
    from calmdesk.conversations.services import conversation_assign

    url = conversation_urls(conversation)["detail"]
    conversation_assign(conversation=conversation, actor=agent_a, assignee=agent_a)
    agent_page = login(agent_a).get(url).content.decode()
    assert reverse("supervision:conversation-report", args=[conversation.pk]) in agent_page
    assert reverse("supervision:conversation-followup", args=[conversation.pk]) in agent_page
    assert reverse("supervision:conversation-step-away", args=[conversation.pk]) in agent_page
    assert reverse("supervision:conversation-take-over", args=[conversation.pk]) not in agent_page
    supervisor_page = login(supervisor_a).get(url).content.decode()
    assert reverse("supervision:conversation-take-over", args=[conversation.pk]) in supervisor_page
    assert (
        reverse("supervision:conversation-step-away", args=[conversation.pk]) not in supervisor_page
    )
    assert 'href="/supervision/"' in supervisor_page
    assert 'href="/supervision/incidents/"' in agent_page
    assert 'href="/practice/"' in agent_page


def test_added_follow_up_is_listed_and_overdue_is_marked(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from calmdesk.followups.services import followup_create

    followup_create(
        conversation=conversation,
        due_at=timezone.now() - timedelta(hours=1),
        description="Call back about the refund",
        created_by=agent_a,
    )
    html = login(agent_a).get(conversation_urls(conversation)["detail"]).content.decode()
    assert "Call back about the refund" in html
    assert "followup-overdue" in html


def test_times_are_shown_in_the_organisations_time_zone(
    login: Login, agent_a: User, conversation: Conversation
) -> None:
    from datetime import UTC, datetime

    from calmdesk.followups.services import followup_create

    organisation = agent_a.organisation
    assert organisation is not None
    organisation.time_zone = "Asia/Tokyo"
    organisation.save()
    followup_create(
        conversation=conversation,
        due_at=datetime(2031, 1, 10, 12, 0, tzinfo=UTC),
        description="Ring back",
        created_by=agent_a,
    )
    html = login(agent_a).get(conversation_urls(conversation)["detail"]).content.decode()
    assert "Fri 10 Jan, 21:00" in html  # 12:00 UTC is 21:00 in Tokyo


def test_hostile_customer_name_and_identity_are_escaped_on_every_page(
    login: Login, agent_a: User, receive: Receive, team_a: Team
) -> None:
    conversation = receive(
        "Hello", team=team_a, name=HOSTILE, email="x<script>@example.com", subject="Plain"
    )
    client = login(agent_a)
    pages = [
        reverse("workspace:inbox"),
        conversation_urls(conversation)["detail"],
        reverse("workspace:customer", args=[conversation.customer_id]),
        reverse("workspace:customers") + "?q=example",
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert "<img src=x" not in html, url
        assert "x<script>@" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def _email_conversation(org: Organisation, raw: bytes) -> Conversation:
    from calmdesk.channels.services import email_import

    result = email_import(organisation=org, raw=raw, source="test")
    assert result.conversation_id is not None
    return Conversation.objects.get(pk=result.conversation_id)


ATTACHED = (
    b"From: Casey <casey@example.com>\r\nTo: support@calmdesk.localhost\r\n"
    b"Subject: <b>receipt</b>\r\nMessage-ID: <ws-attach@example.com>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
    b"Content-Type: text/plain\r\n\r\nMy receipt is attached.\r\n--b\r\n"
    b'Content-Type: text/html; name="x.html"\r\n'
    b'Content-Disposition: attachment; filename="<img src=x onerror=alert(1)>.html"\r\n\r\n'
    b"<script>alert(1)</script>\r\n--b\r\n"
    b'Content-Type: application/pdf; name="receipt.pdf"\r\n'
    b'Content-Disposition: attachment; filename="receipt.pdf"\r\n\r\n%PDF-1.4 tiny\r\n--b--\r\n'
)


def test_attachments_are_listed_escaped_and_downloaded_through_access_checks(
    login: Login,
    agent_a: User,
    org: Organisation,
    make_user: Callable[..., User],
    other_org: Organisation,
) -> None:
    from calmdesk.channels.models import EmailAttachment

    conversation = _email_conversation(org, ATTACHED)
    client = login(agent_a)
    html = client.get(conversation_urls(conversation)["detail"]).content.decode()
    hostile = EmailAttachment.objects.get(filename__endswith=".html")
    pdf = EmailAttachment.objects.get(filename="receipt.pdf")
    assert "&lt;img src=x onerror=alert(1)&gt;.html" in html
    assert "<img src=x" not in html
    hostile_url = reverse("workspace:attachment", args=[hostile.pk])
    assert f'href="{hostile_url}" download' in html
    assert "receipt.pdf" in html and f"{pdf.size}\xa0bytes" in html

    download = client.get(hostile_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download.content == bytes(hostile.content)
    pdf_download = client.get(reverse("workspace:attachment", args=[pdf.pk]))
    assert pdf_download["Content-Type"] == "application/pdf"

    outsider = make_user("olga", organisation=other_org)
    assert login(outsider).get(hostile_url).status_code == 404
    assert Client().get(hostile_url).status_code == 302  # to the login page
    assert client.get(reverse("workspace:attachment", args=[999999])).status_code == 404


def test_outbound_email_shows_queued_retrying_failed_and_sent(
    login: Login, agent_a: User, org: Organisation, settings: Any
) -> None:
    import socket

    from calmdesk.channels.models import DeliveryStatus, EmailDelivery
    from calmdesk.channels.services import email_delivery_attempt
    from calmdesk.conversations.services import reply_send

    conversation = _email_conversation(
        org,
        b"From: Casey <casey@example.com>\r\nTo: support@calmdesk.localhost\r\n"
        b"Subject: Order\r\nMessage-ID: <ws-delivery@example.com>\r\n\r\nWhere is it?\r\n",
    )
    reply = reply_send(
        conversation=conversation, author=agent_a, body_text="I am checking with the courier."
    )
    delivery = EmailDelivery.objects.get(message=reply)
    client = login(agent_a)
    url = conversation_urls(conversation)["detail"]

    def delivery_text() -> str:
        html = client.get(url).content.decode()
        start = html.index('class="delivery delivery-')
        return html[start : html.index("</p>", start)]

    assert "Queued" in delivery_text()
    page = client.get(url).content.decode()
    signature = page.split("deliveries=", 1)[1].split('"', 1)[0]
    assert (
        client.get(url, {"after": str(reply.pk), "deliveries": signature}, **htmx()).status_code
        == 204
    )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port
    email_delivery_attempt(delivery_id=delivery.pk)
    shown = delivery_text()
    assert "delivery-retrying" in shown and "attempt 1 failed" in shown
    assert "refused" in shown.lower() or "Connection" in shown
    # The poll answers as soon as the delivery moved on, with no new message.
    moved = client.get(url, {"after": str(reply.pk), "deliveries": signature}, **htmx())
    assert moved.status_code == 200 and "attempt 1 failed" in moved.content.decode()

    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, attempts=6, last_error="550 <mailbox> unavailable"
    )
    shown = delivery_text()
    assert "Not delivered" in shown and "6 attempts" in shown
    assert "550 &lt;mailbox&gt; unavailable" in shown and 'role="alert"' in shown

    EmailDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.RETRYING)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    email_delivery_attempt(delivery_id=delivery.pk)
    shown = delivery_text()
    assert "delivery-sent" in shown and "Sent" in shown and "casey@example.com" in shown


def test_only_chat_reply_boxes_send_typing_signals(
    login: Login, agent_a: User, org: Organisation, conversation: Conversation
) -> None:
    from calmdesk.channels.models import ChatPresence
    from calmdesk.conversations.services import inbound_message_receive

    chat = inbound_message_receive(
        organisation=org,
        channel="chat",
        external_id="visitor-1:m1",
        body_text="Hello, is anyone there?",
        customer_handle="chat-visitor:abc",
    ).conversation
    client = login(agent_a)
    typing_url = reverse("channels:chat-agent-typing", args=[chat.pk])
    assert (
        f'data-typing-url="{typing_url}"'
        in client.get(conversation_urls(chat)["detail"]).content.decode()
    )
    assert (
        "data-typing-url"
        not in client.get(conversation_urls(conversation)["detail"]).content.decode()
    )

    # The signal is a same-origin POST that needs the CSRF token, like every form.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent_a)
    assert strict.post(typing_url).status_code == 403
    assert not ChatPresence.objects.filter(conversation=chat).exists()
    page = strict.get(conversation_urls(chat)["detail"])
    token = page.cookies["csrftoken"].value
    assert strict.post(typing_url, headers={"X-CSRFToken": token}).status_code == 204
    assert ChatPresence.objects.get(conversation=chat).agent_typing_until is not None


def test_a_long_thread_shows_the_newest_messages_and_offers_the_rest(
    login: Login, agent_a: User, receive: Receive, team_a: Team
) -> None:
    from calmdesk.conversations.services import reply_send

    conversation = receive("Message number 0", team=team_a)
    for number in range(1, 30):
        reply_send(conversation=conversation, author=agent_a, body_text=f"Reply number {number}")
        receive(f"Message number {number}", team=team_a, conversation=conversation)
    client = login(agent_a)
    url = reverse("workspace:conversation", args=[conversation.pk])
    page = client.get(url).content.decode()
    # 59 messages: the newest 50 shown, the 9 oldest behind a link.
    assert "Show 9 earlier messages" in page
    assert "Message number 29" in page and "Message number 5" in page
    assert "Message number 3" not in page and "Reply number 4" not in page
    assert page.count('class="message message-') == 50
    page = client.get(url, {"all": "1"}).content.decode()
    assert "earlier message" not in page
    assert page.count('class="message message-') == 59 and "Message number 0" in page


def test_merge_a_duplicate_customer_from_the_customer_page(
    login: Login, agent_a: User, receive: Receive, team_a: Team, team_b: Team
) -> None:
    from calmdesk.audit.models import AuditEvent

    kept = receive("My bill is wrong.", team=team_a, email="sam@home.example").customer
    duplicate = receive("Same bill, other address.", team=team_a, email="sam@work.example")
    duplicate_customer = duplicate.customer
    hidden = receive("Team B case", team=team_b, email="other@example.com").customer
    client = login(agent_a)
    url = reverse("workspace:customer-merge", args=[kept.pk])

    # Named by address, confirmed: everything moves and the merge is audited.
    response = client.post(url, {"duplicate": "SAM@work.example", "confirm": "on"})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.customer_id == kept.pk
    assert kept.identities.filter(value="sam@work.example").exists()
    assert AuditEvent.objects.filter(action="customer.merged", target_id=kept.pk).exists()
    # The old record's page leads to the one it joined.
    old_page = client.get(reverse("workspace:customer", args=[duplicate_customer.pk]))
    assert old_page.status_code == 302
    assert old_page["Location"] == reverse("workspace:customer", args=[kept.pk])

    # Unconfirmed, unknown, itself, or a customer the agent cannot see: refused, nothing moves.
    assert client.post(url, {"duplicate": "sam@work.example"}).status_code == 400
    page = client.post(url, {"duplicate": "nobody@example.com", "confirm": "on"})
    assert page.status_code == 400 and "No customer you can see" in page.content.decode()
    page = client.post(url, {"duplicate": str(kept.pk), "confirm": "on"})
    assert page.status_code == 400 and "cannot be merged into itself" in page.content.decode()
    page = client.post(url, {"duplicate": "other@example.com", "confirm": "on"})
    assert page.status_code == 400
    assert hidden.conversations.count() == 1 and hidden.merged_into_id is None


# -- machine mail (auto-replies, bounces) in the thread -------------------------------


def out_of_office(conversation: Conversation, agent: User, number: int, *, text: str = "") -> None:
    """An agent's reply, and the customer's mail server answering it with an out-of-office."""
    from calmdesk.channels.services import email_import
    from calmdesk.channels.threading import subject_token
    from calmdesk.conversations.services import reply_send

    reply = reply_send(conversation=conversation, author=agent, body_text=f"Checking {number}.")
    delivery = getattr(reply, "email_delivery", None)
    # Threaded by In-Reply-To when the reply went by email, else by the subject's token.
    raw = (
        "From: Casey Customer <casey@example.com>\r\n"
        "To: support@calmdesk.localhost\r\n"
        f"Subject: Out of office: Re: {subject_token(conversation.pk)}\r\n"
        f"Message-ID: <ooo-{number}-{reply.pk}@mail.example.com>\r\n"
        + (f"In-Reply-To: <{delivery.message_id_header}>\r\n" if delivery else "")
        + "Auto-Submitted: auto-replied\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{text or 'I am away until Monday with no access to email.'}\r\n"
    )
    email_import(organisation=conversation.organisation, raw=raw.encode(), source="test")


def bounce(conversation: Conversation, agent: User) -> None:
    from calmdesk.channels.services import email_import
    from calmdesk.conversations.services import reply_send

    reply = reply_send(conversation=conversation, author=agent, body_text="Here is the label.")
    message_id = reply.email_delivery.message_id_header
    raw = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: support@calmdesk.localhost\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{reply.pk}@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\n"
        "This is the mail system at host mx.example.com.\r\n\r\n"
        "<casey@example.com>: host mx.example.com said: 552 5.2.2 Mailbox full\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; casey@example.com\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "--b--\r\n"
    )
    email_import(organisation=conversation.organisation, raw=raw.encode(), source="test")


def test_auto_replies_and_bounces_show_as_system_entries_not_messages(
    login: Login, agent_a: User, org: Organisation
) -> None:
    from calmdesk.channels.services import email_import

    first = email_import(
        organisation=org,
        raw=(
            b"From: Casey Customer <casey@example.com>\r\nTo: support@calmdesk.localhost\r\n"
            b"Subject: Parcel\r\nMessage-ID: <parcel-1@mail.example.com>\r\n\r\n"
            b"Where is my parcel?\r\n"
        ),
        source="test",
    )
    conversation = Conversation.objects.get(pk=first.conversation_id)
    conversation.assignee = agent_a
    conversation.save()
    out_of_office(conversation, agent_a, 1, text=f"Away. {HOSTILE}")
    bounce(conversation, agent_a)
    client = login(agent_a)
    url = reverse("workspace:conversation", args=[conversation.pk])
    page = client.get(url).content.decode()

    assert page.count('class="system-entry ') == 2
    assert "Automatic reply received" in page and "Bounce received" in page
    assert "552 5.2.2 Mailbox full" in page  # the bounce's telling line, not its preamble
    assert "never answered automatically" in page
    # Neither became a customer message, and the machine's text is escaped.
    assert page.count("message message-inbound") == 1
    assert HOSTILE not in page and "&lt;script&gt;" in page
    # Each sits after the reply it answers, in time order.
    replies = [m.pk for m in conversation.messages.filter(direction=Direction.OUTBOUND)]
    ooo_at = page.index("system-entry-auto-reply")
    bounce_at = page.index("system-entry-bounce")
    assert (
        page.index(f'id="message-{replies[0]}"') < ooo_at < page.index(f'id="message-{replies[1]}"')
    )
    assert page.index(f'id="message-{replies[1]}"') < bounce_at
    # The thread partial (what the page polls) shows them too.
    partial = client.get(url, **htmx()).content.decode()
    assert partial.count('class="system-entry ') == 2
