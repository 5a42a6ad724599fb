"""POST /assess and /coach (the engine over HTTP, nothing stored) and coached replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from calmdesk.accounts.models import Team, User
from calmdesk.conversations.models import Message
from calmdesk.conversations.services import ReceiveResult, conversation_assign
from calmdesk.engine import SCORE_KEYS
from tests.api.conftest import ApiCaller, error_of

pytestmark = pytest.mark.django_db

Receive = Callable[..., ReceiveResult]
TECHNIQUES = {"apology", "empathy", "paraphrase", "question", "ownership", "next_step", "thanks"}


@pytest.fixture
def alice(agent_a: User, api_as: Callable[[User], ApiCaller]) -> ApiCaller:
    return api_as(agent_a)


def test_assess_reads_a_message_and_stores_nothing(alice: ApiCaller) -> None:
    text = "This is the THIRD time I write. Refund me now or I call my lawyer!!!"

    response = alice.post("/assess", {"text": text})

    assert response.status_code == 200
    body = response.json()
    assert set(body["scores"]) == set(SCORE_KEYS)
    assert all(0.0 <= v <= 1.0 for v in body["scores"].values())
    assert body["scores"]["legal"] > body["scores"]["gratitude"]
    assert body["flags"], body
    for flag in body["flags"]:
        assert text[flag["start"] : flag["end"]] == flag["evidence"]
    assert body["trajectory"] is None
    assert Message.objects.count() == 0


def test_assess_with_history_reports_a_trajectory(alice: ApiCaller) -> None:
    history = [
        {"role": "customer", "text": "Hi, my parcel is a day late, any news?"},
        {"role": "agent", "text": "It is on its way."},
    ]
    response = alice.post(
        "/assess",
        {"text": "That is NOT an answer. Where is it?! Useless!!", "history": history},
    )
    assert response.status_code == 200
    assert response.json()["trajectory"] in {"rising", "steady", "falling"}


def test_assess_of_empty_text_is_all_zero(alice: ApiCaller) -> None:
    body = alice.post("/assess", {"text": ""}).json()
    assert set(body["scores"].values()) == {0.0}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"text": 5},
        {"text": "hi", "extra": 1},
        {"text": "hi", "history": [{"role": "boss", "text": "x"}]},
        {"text": "hi", "history": [{"role": "agent"}]},
        {"text": "hi", "history": ["just a string"]},
        {"text": "hi", "history": [{"role": "agent", "text": "x"}] * 51},
    ],
)
def test_assess_refuses_bad_input(alice: ApiCaller, payload: dict[str, Any]) -> None:
    response = alice.post("/assess", payload)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


def test_assess_and_coach_need_a_token(anonymous: ApiCaller) -> None:
    assert anonymous.post("/assess", {"text": "hi"}).status_code == 401
    assert anonymous.post("/coach", {"draft": "hi"}).status_code == 401


def test_coach_reviews_a_draft(alice: ApiCaller) -> None:
    draft = (
        "I am sorry the order is late. Per our policy we cannot refund shipping. "
        "I will call you tomorrow before noon with the tracking number."
    )

    response = alice.post("/coach", {"draft": draft})

    assert response.status_code == 200
    body = response.json()
    assert 0 <= body["score"] <= 100
    assert set(body["techniques"]) == TECHNIQUES
    assert body["techniques"]["apology"] > 0.5
    rules = {finding["rule"] for finding in body["findings"]}
    assert "policy_hiding" in rules
    for finding in body["findings"]:
        start, end = finding["span"]
        assert draft[start:end] == finding["text"]
        if finding["kind"] == "avoid":
            assert finding["explanation"]
    assert body["blocking"] == []
    (promise,) = body["promises"]
    assert "tomorrow before noon" in promise["text"]
    assert promise["due"] is not None


def test_coach_flags_blocking_findings(alice: ApiCaller) -> None:
    body = alice.post("/coach", {"draft": "Listen, you idiot, read the manual."}).json()
    assert {finding["rule"] for finding in body["blocking"]} == {"insult"}


def test_coach_uses_the_conversation_and_respects_visibility(
    alice: ApiCaller, receive: Receive, admin_user: User, team_b: Team
) -> None:
    angry = receive("k-1", "You broke my washing machine and nobody answers my emails!!")
    draft = "Please send a photo of the serial number."

    with_thread = alice.post(
        "/coach", {"draft": draft, "conversation_id": angry.conversation.pk}
    ).json()
    alone = alice.post("/coach", {"draft": draft}).json()

    assert with_thread["customer_anger"] > alone["customer_anger"]

    conversation_assign(
        conversation=angry.conversation, actor=admin_user, assignee=None, team=team_b
    )
    hidden = alice.post("/coach", {"draft": draft, "conversation_id": angry.conversation.pk})
    assert hidden.status_code == 404


@pytest.mark.parametrize(
    "payload",
    [{}, {"draft": None}, {"draft": "x", "conversation_id": "1"}, {"draft": "x", "tone": "calm"}],
)
def test_coach_refuses_bad_input(alice: ApiCaller, payload: dict[str, Any]) -> None:
    assert alice.post("/coach", payload).status_code == 422


def test_replies_are_coached_and_the_coaching_is_stored(alice: ApiCaller, receive: Receive) -> None:
    conversation = receive("k-2", "Where is my parcel? It is a week late!").conversation

    response = alice.post(
        f"/conversations/{conversation.pk}/replies",
        {"body": "I am sorry it is late. I will email you the tracking link by 5pm today."},
    )

    assert response.status_code == 201
    coaching = response.json()["coaching"]
    assert set(coaching["techniques"]) == TECHNIQUES
    stored = Message.objects.get(pk=response.json()["id"])
    assert stored.coaching == coaching
    conversation.refresh_from_db()
    assert [p["message_id"] for p in conversation.promises] == [stored.pk]


def test_a_blocked_reply_needs_confirmation(alice: ApiCaller, receive: Receive) -> None:
    conversation = receive("k-3", "Your service is rubbish.").conversation
    rude = {"body": "Listen, you idiot, read the manual."}

    refused = alice.post(f"/conversations/{conversation.pk}/replies", rude)

    assert refused.status_code == 422
    error = error_of(refused)
    assert error["code"] == "confirmation_required"
    assert "insult" in error["message"]
    assert Message.objects.filter(conversation=conversation).count() == 1

    sent = alice.post(
        f"/conversations/{conversation.pk}/replies", {**rude, "confirm_blocking": True}
    )
    assert sent.status_code == 201
    assert {f["rule"] for f in sent.json()["coaching"]["blocking"]} == {"insult"}
