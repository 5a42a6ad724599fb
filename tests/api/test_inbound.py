"""POST /api/v1/inbound: storing customer messages, once, and refusing bad input whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings

from calmdesk.accounts.models import Team, User
from calmdesk.api.services import token_create
from calmdesk.conversations.models import Conversation, Message
from calmdesk.conversations.services import conversation_assign
from calmdesk.customers.models import ContactIdentity, Customer
from tests.api.conftest import ApiCaller, error_of

pytestmark = pytest.mark.django_db

SCORE_KEYS = {
    "anger",
    "frustration",
    "abuse",
    "threat",
    "legal",
    "public",
    "churn",
    "refund",
    "repeat_contact",
    "urgency",
    "negative",
    "confusion",
    "gratitude",
}


def message(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "channel": "api",
        "external_id": "ext-1",
        "customer": {"email": "Pat@Example.com", "name": "Pat Jones"},
        "subject": "Charged twice",
        "body": "You charged my card twice this month. I want the money back TODAY!",
    }
    payload.update(overrides)
    return payload


def stored_counts() -> tuple[int, int, int, int]:
    return (
        Message.objects.count(),
        Conversation.objects.count(),
        Customer.objects.count(),
        ContactIdentity.objects.count(),
    )


@pytest.fixture
def caller(agent_a: User, api_as: Callable[[User], ApiCaller]) -> ApiCaller:
    return api_as(agent_a)


def test_first_delivery_is_stored_and_assessed(caller: ApiCaller) -> None:
    response = caller.post("/inbound", message())

    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    stored = Message.objects.get(pk=body["message_id"])
    assert stored.conversation_id == body["conversation_id"]
    assert stored.conversation.customer_id == body["customer_id"]
    assert stored.body_text.startswith("You charged my card twice")
    assert stored.conversation.subject == "Charged twice"
    assert stored.conversation.customer.name == "Pat Jones"
    assert ContactIdentity.objects.get(customer_id=body["customer_id"]).value == "pat@example.com"
    assessment = body["assessment"]
    assert set(assessment["scores"]) >= SCORE_KEYS
    assert all(0.0 <= value <= 1.0 for value in assessment["scores"].values())
    assert assessment == stored.assessment


def test_repeat_delivery_is_200_with_the_same_ids_and_stores_nothing(caller: ApiCaller) -> None:
    first = caller.post("/inbound", message()).json()
    before = stored_counts()

    again = caller.post("/inbound", message(body="a different body, same message id"))

    assert again.status_code == 200
    body = again.json()
    assert body["created"] is False
    for key in ("conversation_id", "message_id", "customer_id"):
        assert body[key] == first[key]
    assert body["assessment"] == first["assessment"]
    assert stored_counts() == before


def test_same_external_id_on_another_channel_is_a_new_message(caller: ApiCaller) -> None:
    caller.post("/inbound", message())
    response = caller.post("/inbound", message(channel="chat", customer={"handle": "pat#42"}))
    assert response.status_code == 201
    assert Message.objects.count() == 2


def test_follow_up_joins_the_named_conversation(caller: ApiCaller) -> None:
    first = caller.post("/inbound", message()).json()
    response = caller.post(
        "/inbound",
        message(
            external_id="ext-2",
            body="Still nothing. This is the third time I write!",
            conversation_id=first["conversation_id"],
        ),
    )
    assert response.status_code == 201
    assert response.json()["conversation_id"] == first["conversation_id"]
    assert Conversation.objects.get().messages.count() == 2


def test_conversation_of_another_customer_is_409_and_nothing_is_stored(
    caller: ApiCaller,
) -> None:
    first = caller.post("/inbound", message()).json()
    before = stored_counts()

    response = caller.post(
        "/inbound",
        message(
            external_id="ext-2",
            customer={"email": "someone.else@example.com"},
            conversation_id=first["conversation_id"],
        ),
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert "another customer" in error_of(response)["message"]
    # The new customer created inside the refused transaction is gone too.
    assert stored_counts() == before


def test_conversation_the_token_cannot_see_is_404(
    caller: ApiCaller, admin_user: User, team_b: Team
) -> None:
    first = caller.post("/inbound", message()).json()
    conversation = Conversation.objects.get(pk=first["conversation_id"])
    conversation_assign(conversation=conversation, actor=admin_user, assignee=None, team=team_b)

    response = caller.post(
        "/inbound", message(external_id="ext-2", conversation_id=conversation.pk)
    )
    assert response.status_code == 404
    response = caller.post("/inbound", message(external_id="ext-3", conversation_id=999_999))
    assert response.status_code == 404
    assert Message.objects.count() == 1


def test_an_admin_token_gets_404_for_another_organisations_or_a_missing_conversation(
    admin_user: User,
    make_user: Callable[..., User],
    other_org: Any,
    api_as: Callable[[User], ApiCaller],
) -> None:
    # An admin's token skips the access query: receive's own read must refuse the same ids.
    admin = api_as(admin_user)
    outsider = make_user("oscar", organisation=other_org)
    theirs = ApiCaller(token_create(user=outsider).secret).post("/inbound", message()).json()
    before = stored_counts()

    for number, conversation_id in enumerate((theirs["conversation_id"], 999_999)):
        response = admin.post(
            "/inbound",
            message(
                external_id=f"adm-{number}",
                customer={"email": "new.person@example.com"},
                conversation_id=conversation_id,
            ),
        )
        assert response.status_code == 404
        error = error_of(response)
        assert (error["code"], error["message"]) == ("not_found", "No such conversation.")
    # Nothing of the refused deliveries stays, not even the new customer.
    assert stored_counts() == before
    own = admin.post("/inbound", message(external_id="adm-own")).json()
    follow_up = admin.post(
        "/inbound", message(external_id="adm-own-2", conversation_id=own["conversation_id"])
    )
    assert follow_up.status_code == 201


def test_any_staff_role_may_inject(
    supervisor_a: User, admin_user: User, api_as: Callable[[User], ApiCaller]
) -> None:
    for number, user in enumerate((supervisor_a, admin_user)):
        response = api_as(user).post("/inbound", message(external_id=f"role-{number}"))
        assert response.status_code == 201


def test_messages_land_in_the_token_users_organisation(
    make_user: Callable[..., User], other_org: Any, caller: ApiCaller
) -> None:
    outsider = make_user("olga", organisation=other_org)
    mine = caller.post("/inbound", message()).json()
    theirs = ApiCaller(token_create(user=outsider).secret).post("/inbound", message()).json()
    assert theirs["message_id"] != mine["message_id"]
    assert Message.objects.get(pk=theirs["message_id"]).organisation == other_org
    # Their conversation is invisible to us, even by id.
    response = caller.post(
        "/inbound", message(external_id="ext-9", conversation_id=theirs["conversation_id"])
    )
    assert response.status_code == 404


# Refused input: every case leaves the database untouched ----------------------


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (message(surprise="field"), "surprise"),
        (message(customer={"email": "p@example.com", "phone": "123"}), "customer.phone"),
        (message(body=""), "body"),
        (message(body="   \n\t "), "body"),
        (message(body=12), "body"),
        (message(body=None), "body"),
        (message(channel="fax"), "channel"),
        (message(external_id=""), "external_id"),
        (message(external_id=5), "external_id"),
        (message(external_id="x" * 301), "external_id"),
        (message(conversation_id="5"), "conversation_id"),
        (message(conversation_id=1.5), "conversation_id"),
        (message(conversation_id=True), "conversation_id"),
        (message(customer={}), "customer"),
        (message(customer={"name": "No Contact"}), "customer"),
        (message(customer={"email": "not-an-address"}), "customer.email"),
        (message(customer="pat@example.com"), "customer"),
        (message(subject="s" * 301), "subject"),
        (message(body="NUL \x00 inside"), "body"),
        (message(body="lone surrogate \ud800 inside"), "body"),
        ({k: v for k, v in message().items() if k != "body"}, "body"),
        ({k: v for k, v in message().items() if k != "channel"}, "channel"),
        ([message()], ""),
        ("just a string", ""),
    ],
)
def test_schema_violations_are_422_and_store_nothing(
    caller: ApiCaller, payload: Any, where: str
) -> None:
    response = caller.post_raw("/inbound", json.dumps(payload, ensure_ascii=True).encode("ascii"))

    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"], error
    locations = {".".join(str(part) for part in d["loc"][1:]) for d in error["details"]}
    assert where in locations or (where == "" and error["details"]), locations
    assert stored_counts() == (0, 0, 0, 0)


def test_empty_request_body_is_422(caller: ApiCaller) -> None:
    response = caller.post_raw("/inbound", b"")
    assert response.status_code == 422
    assert stored_counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"channel": "api", "body": "caf\xe9"}', "invalid_utf8"),
        (b"\xff\xfe{}", "invalid_utf8"),
        (b'{"channel": "api", "body": "ok"', "malformed_json"),
        (b"{'single': 'quotes'}", "malformed_json"),
        (b"channel=api&body=hello", "malformed_json"),
        (b"[" * 100_000, "malformed_json"),
    ],
)
def test_invalid_utf8_or_malformed_json_is_400(caller: ApiCaller, raw: bytes, code: str) -> None:
    response = caller.post_raw("/inbound", raw)
    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert stored_counts() == (0, 0, 0, 0)


def test_valid_utf8_in_every_script_is_stored_intact(caller: ApiCaller) -> None:
    text = "Ça ne marche pas 😡 — 注文が届かない! Zahlung doppelt?"
    raw = json.dumps(message(body=text), ensure_ascii=False).encode("utf-8")
    response = caller.post_raw("/inbound", raw)
    assert response.status_code == 201
    assert Message.objects.get().body_text == text


def test_body_over_the_limit_is_413_before_parsing(caller: ApiCaller) -> None:
    big = message(body="angry words " * 25_000)  # about 300 KB
    raw = json.dumps(big).encode()
    assert len(raw) > 256 * 1024

    response = caller.post_raw("/inbound", raw)

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert stored_counts() == (0, 0, 0, 0)


def test_413_even_when_the_body_is_not_json(caller: ApiCaller) -> None:
    # Refused on size alone: the guard never tries to parse it.
    response = caller.post_raw("/inbound", b"\xff" * 300_000)
    assert response.status_code == 413


@override_settings(CALMDESK_MAX_BODY_BYTES=1000)
def test_the_limit_is_configurable_and_checked_on_the_declared_length(caller: ApiCaller) -> None:
    small = json.dumps(message(body="x" * 500)).encode()
    assert len(small) < 1000
    assert caller.post_raw("/inbound", small).status_code == 201
    too_big = json.dumps(message(external_id="ext-2", body="x" * 1200)).encode()
    assert caller.post_raw("/inbound", too_big).status_code == 413
    # A client that announces more than the limit is refused without its body being read.
    response = caller.post_raw("/inbound", small, CONTENT_LENGTH="5000000")
    assert response.status_code == 413
    response = caller.post_raw("/inbound", small, CONTENT_LENGTH="lots")
    assert response.status_code == 400
    assert Message.objects.count() == 1
