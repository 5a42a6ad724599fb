"""Reading conversations and customers, and replying, through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calmdesk.accounts.models import Team, User
from calmdesk.conversations.models import Direction, Message, Status
from calmdesk.conversations.services import (
    ReceiveResult,
    conversation_assign,
    conversation_set_status,
    note_add,
)
from calmdesk.customers.services import customer_update_notes
from tests.api.conftest import ApiCaller, error_of

pytestmark = pytest.mark.django_db

Receive = Callable[..., ReceiveResult]


@pytest.fixture
def three_conversations(receive: Receive, admin_user: User, team_a: Team, team_b: Team) -> Any:
    """One conversation in each of team A, team B and the shared triage queue."""
    in_a = receive("a-1", "My invoice is wrong, I was billed twice!", customer_email="ann@x.com")
    in_b = receive("b-1", "The parcel never came.", customer_email="ben@x.com")
    triage = receive("t-1", "How do I change my address?", customer_email="tia@x.com")
    conversation_assign(
        conversation=in_a.conversation, actor=admin_user, assignee=None, team=team_a
    )
    conversation_assign(
        conversation=in_b.conversation, actor=admin_user, assignee=None, team=team_b
    )
    return in_a, in_b, triage


def ids(response: Any) -> set[int]:
    return {item["id"] for item in response.json()["items"]}


def test_list_is_scoped_to_what_the_user_may_see(
    three_conversations: Any,
    agent_a: User,
    agent_b: User,
    admin_user: User,
    api_as: Callable[[User], ApiCaller],
) -> None:
    in_a, in_b, triage = (r.conversation.pk for r in three_conversations)

    alice = api_as(agent_a).get("/conversations")
    assert alice.status_code == 200
    assert ids(alice) == {in_a, triage}
    assert alice.json()["total"] == 2
    assert ids(api_as(agent_b).get("/conversations")) == {in_b, triage}
    assert ids(api_as(admin_user).get("/conversations")) == {in_a, in_b, triage}


def test_list_items_carry_the_reading_and_the_people(
    three_conversations: Any, agent_a: User, api_as: Callable[[User], ApiCaller]
) -> None:
    in_a = three_conversations[0]
    item = next(
        i
        for i in api_as(agent_a).get("/conversations").json()["items"]
        if i["id"] == in_a.conversation.pk
    )
    assert item["team"] == {"id": in_a.conversation.team_id, "name": "Billing"}
    assert item["customer"]["id"] == in_a.customer.pk
    assert item["status"] == "new"
    assert 0.0 <= item["risk"] <= 1.0
    assert item["waiting_since"] is not None
    for key in ("current_anger", "peak_anger", "trajectory", "topic", "customer_type"):
        assert key in item


def test_list_filters(
    three_conversations: Any, admin_user: User, agent_a: User, api_as: Callable[[User], ApiCaller]
) -> None:
    in_a, in_b, triage = three_conversations
    conversation_assign(conversation=in_b.conversation, actor=admin_user, assignee=agent_a)
    conversation_set_status(conversation=triage.conversation, actor=admin_user, status="resolved")
    admin = api_as(admin_user)

    assert ids(admin.get("/conversations", team=in_a.conversation.team_id)) == {
        in_a.conversation.pk
    }
    assert ids(admin.get("/conversations", assignee=agent_a.pk)) == {in_b.conversation.pk}
    assert ids(admin.get("/conversations", unassigned="true")) == {in_a.conversation.pk}
    assert ids(admin.get("/conversations", customer=in_a.customer.pk)) == {in_a.conversation.pk}
    # Open conversations by default; resolved ones on request.
    assert triage.conversation.pk not in ids(admin.get("/conversations"))
    assert ids(admin.get("/conversations", status="resolved")) == {triage.conversation.pk}
    assert len(ids(admin.get("/conversations", status="all"))) == 3


def test_list_sorts_and_paginates_with_a_total(
    receive: Receive, admin_user: User, api_as: Callable[[User], ApiCaller]
) -> None:
    created = [
        receive(f"p-{n}", f"Question number {n}", customer_email=f"c{n}@x.com").conversation.pk
        for n in range(7)
    ]
    admin = api_as(admin_user)

    first = admin.get("/conversations", sort="oldest", limit=3).json()
    second = admin.get("/conversations", sort="oldest", limit=3, offset=3).json()
    last = admin.get("/conversations", sort="oldest", limit=3, offset=6).json()
    beyond = admin.get("/conversations", sort="oldest", limit=3, offset=30).json()

    assert first["total"] == second["total"] == 7
    assert [i["id"] for i in first["items"]] == created[:3]
    assert [i["id"] for i in second["items"]] == created[3:6]
    assert [i["id"] for i in last["items"]] == created[6:]
    assert beyond["items"] == [] and beyond["total"] == 7
    newest = admin.get("/conversations", sort="newest", limit=1).json()["items"]
    assert newest[0]["id"] == created[-1]


def test_list_query_count_does_not_grow_with_the_page(
    receive: Receive, admin_user: User, api_as: Callable[[User], ApiCaller]
) -> None:
    for n in range(12):
        receive(f"q-{n}", f"Message {n}", customer_email=f"q{n}@x.com")
    admin = api_as(admin_user)
    admin.get("/conversations")  # warm up: last_used_at is written on first use

    with CaptureQueriesContext(connection) as two:
        admin.get("/conversations", limit=2)
    with CaptureQueriesContext(connection) as twelve:
        admin.get("/conversations", limit=12)
    assert len(twelve) == len(two) <= 4


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"offset": -1},
        {"sort": "loudest"},
        {"status": "lost"},
        {"team": "billing"},
    ],
)
def test_bad_list_parameters_are_422(
    params: dict[str, Any], agent_a: User, api_as: Callable[[User], ApiCaller]
) -> None:
    response = api_as(agent_a).get("/conversations", **params)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"][0] == "query"


def test_detail_has_messages_with_assessments(
    receive: Receive, agent_a: User, api_as: Callable[[User], ApiCaller]
) -> None:
    first = receive("d-1", "You sent the wrong size. Again.")
    conversation = first.conversation
    note_add(conversation=conversation, author=agent_a, body_text="Second wrong size this month.")
    receive("d-2", "Hello?? Anyone there?!", conversation_id=conversation.pk)

    response = api_as(agent_a).get(f"/conversations/{conversation.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == conversation.pk
    assert [m["direction"] for m in body["messages"]] == ["inbound", "note", "inbound"]
    inbound = [m for m in body["messages"] if m["direction"] == "inbound"]
    assert all(set(m["assessment"]["scores"]) >= {"anger", "abuse"} for m in inbound)
    assert inbound[0]["external_id"] == "d-1"
    note = body["messages"][1]
    assert note["assessment"] is None
    assert note["author"]["username"] == "alice"
    assert note["sender"] is None
    assert inbound[0]["sender"]["kind"] == "email" and "@" in inbound[0]["sender"]["value"]
    for key in ("risk", "current_anger", "peak_anger", "trajectory", "topic", "promises"):
        assert key in body


def test_detail_of_another_teams_conversation_is_404(
    three_conversations: Any, agent_a: User, api_as: Callable[[User], ApiCaller]
) -> None:
    in_b = three_conversations[1].conversation
    response = api_as(agent_a).get(f"/conversations/{in_b.pk}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert api_as(agent_a).get("/conversations/987654").status_code == 404


def test_reply_is_stored_and_returned(
    receive: Receive, agent_a: User, api_as: Callable[[User], ApiCaller]
) -> None:
    conversation = receive("r-1", "Where is my refund?").conversation

    response = api_as(agent_a).post(
        f"/conversations/{conversation.pk}/replies",
        {"body": "  I have checked: the refund left us today and will reach you by Friday.  "},
    )

    assert response.status_code == 201
    body = response.json()
    stored = Message.objects.get(pk=body["id"])
    assert stored.direction == Direction.OUTBOUND
    assert stored.author == agent_a
    assert body["body_text"] == stored.body_text
    assert body["body_text"].startswith("I have checked")
    assert body["author"]["id"] == agent_a.pk
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING_CUSTOMER
    assert conversation.waiting_since is None


def test_reply_errors(
    three_conversations: Any, agent_a: User, api_as: Callable[[User], ApiCaller]
) -> None:
    alice = api_as(agent_a)
    mine = three_conversations[0].conversation.pk
    theirs = three_conversations[1].conversation.pk
    before = Message.objects.count()

    assert alice.post(f"/conversations/{theirs}/replies", {"body": "hi"}).status_code == 404
    for payload in ({"body": ""}, {"body": "  "}, {"body": 3}, {"body": "hi", "cc": "x"}, {}):
        response = alice.post(f"/conversations/{mine}/replies", payload)
        assert response.status_code == 422, payload
    assert alice.post_raw(f"/conversations/{mine}/replies", b'{"body": "\xc3"}').status_code == 400
    assert alice.post_raw(f"/conversations/{mine}/replies", b"x" * 300_000).status_code == 413
    assert Message.objects.count() == before


def test_customer_detail(
    receive: Receive, agent_a: User, admin_user: User, api_as: Callable[[User], ApiCaller]
) -> None:
    first = receive("c-1", "First problem", customer_name="Pat Jones")
    receive("c-2", "Second problem", customer_handle="pat_chat")
    customer_update_notes(customer=first.customer, notes="Prefers email.", actor=admin_user)

    response = api_as(agent_a).get(f"/customers/{first.customer.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Pat Jones"
    assert body["notes"] == "Prefers email."
    assert {(i["kind"], i["value"]) for i in body["identities"]} == {
        ("email", "pat@example.com"),
        ("handle", "pat_chat"),
    }
    # Both messages came from the same person, so they share one conversation history.
    assert {c["id"] for c in body["conversations"]} == {
        m.conversation_id for m in Message.objects.all()
    }
    assert all(c["customer"]["id"] == first.customer.pk for c in body["conversations"])


def test_customer_of_another_team_only_is_404(
    three_conversations: Any, agent_a: User, admin_user: User, api_as: Callable[[User], ApiCaller]
) -> None:
    ben = three_conversations[1].customer
    assert api_as(agent_a).get(f"/customers/{ben.pk}").status_code == 404
    assert api_as(admin_user).get(f"/customers/{ben.pk}").status_code == 200
    assert api_as(agent_a).get("/customers/999999").status_code == 404


def test_unknown_query_parameters_are_422(
    receive: Receive, agent_a: User, api_as: Callable[[User], ApiCaller]
) -> None:
    conversation = receive("u-1", "Hello").conversation
    alice = api_as(agent_a)
    response = alice.get("/conversations", stauts="all")
    assert response.status_code == 422
    error = error_of(response)
    assert "stauts" in error["message"]
    # The message names what is accepted instead.
    assert "accepted: " in error["message"] and "status" in error["message"].split("accepted: ")[1]
    assert error["details"] == [
        {"loc": ["query", "stauts"], "message": "unknown parameter", "type": "extra_forbidden"}
    ]
    assert alice.get(f"/conversations/{conversation.pk}", expand="all").status_code == 422
    assert alice.get(f"/conversations/{conversation.pk}").status_code == 200
