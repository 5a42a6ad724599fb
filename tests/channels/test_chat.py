"""The web chat endpoints, as the widget on another site calls them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from calmdesk.accounts.models import Organisation, User
from calmdesk.channels.chat import ChatError, chat_agent_typing, chat_settings_update
from calmdesk.channels.models import ChatPresence
from calmdesk.conversations.models import Conversation, Direction, Message
from calmdesk.conversations.services import note_add, reply_send

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com"


@pytest.fixture
def chat_org(org: Organisation) -> Organisation:
    chat_settings_update(
        organisation=org, allowed_origins=[SHOP, "http://localhost:8001"], title="Talk to Acme"
    )
    return org


class Widget:
    def __init__(self, origin: str = SHOP) -> None:
        self.client = Client()
        self.origin = origin
        self.token = ""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Origin": self.origin}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.client.generic(
            method,
            f"/chat/{path}",
            json.dumps(body).encode() if body is not None else b"",
            content_type="application/json",
            headers=headers,
        )

    def start(self, slug: str = "acme") -> Any:
        response = self.call("POST", f"api/{slug}/session")
        if response.status_code == 201:
            self.token = response.json()["token"]
        return response


def test_the_widget_script_is_served_to_any_site(client: Client) -> None:
    response = client.get("/chat/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"data-calmdesk-org" in response.content


def test_a_visitor_talks_to_an_agent(chat_org: Organisation, agent_a: User) -> None:
    widget = Widget()
    started = widget.start()
    assert started.status_code == 201 and started["Access-Control-Allow-Origin"] == SHOP
    assert started.json()["title"] == "Talk to Acme"

    sent = widget.call(
        "POST", "api/messages", {"text": "My parcel is <b>lost</b>!", "client_id": "m1"}
    )
    assert sent.status_code == 201
    again = widget.call(
        "POST", "api/messages", {"text": "My parcel is <b>lost</b>!", "client_id": "m1"}
    )
    assert again.status_code == 200 and again.json()["id"] == sent.json()["id"]
    message = Message.objects.get(pk=sent.json()["id"])
    assert message.channel == "chat" and message.direction == Direction.INBOUND
    assert message.assessment is not None  # the same receive path as email

    conversation = message.conversation
    reply_send(conversation=conversation, author=agent_a, body_text="I am sorry, let me find it.")
    note_add(conversation=conversation, author=agent_a, body_text="internal: check courier")
    chat_agent_typing(conversation=conversation)
    update = widget.call("GET", "api/messages?after=0").json()
    assert [(m["from"], m["text"]) for m in update["messages"]] == [
        ("visitor", "My parcel is <b>lost</b>!"),
        ("agent", "I am sorry, let me find it."),
    ]
    assert update["messages"][1]["author"] == "Alice"
    assert update["agent_typing"] is True
    later = widget.call("GET", f"api/messages?after={update['messages'][-1]['id']}").json()
    assert later["messages"] == []
    # The agent's next reply ends the typing indicator at once.
    reply_send(conversation=conversation, author=agent_a, body_text="Found it.")
    assert widget.call("GET", "api/messages?after=0").json()["agent_typing"] is False

    widget.call("POST", "api/messages", {"text": "Thanks", "client_id": "m2"})
    assert Conversation.objects.filter(channel="chat").count() == 1


def test_other_sites_and_other_visitors_are_kept_out(
    chat_org: Organisation, other_org: Organisation
) -> None:
    stranger_site = Widget(origin="https://evil.example")
    refused = stranger_site.start()
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused

    alice, bob = Widget(), Widget()
    alice.start()
    bob.start()
    alice.call("POST", "api/messages", {"text": "private to alice", "client_id": "a1"})
    assert bob.call("GET", "api/messages").json()["messages"] == []

    # A stolen token used from a site the organisation did not allow is refused.
    alice.origin = "https://evil.example"
    assert alice.call("GET", "api/messages").status_code == 403
    forged = Widget()
    forged.token = "not-a-token"
    assert forged.call("GET", "api/messages").status_code == 401
    assert Widget().start("other").status_code == 403  # chat not enabled there


def test_preflight_and_bad_input(chat_org: Organisation) -> None:
    widget = Widget()
    preflight = widget.call("OPTIONS", "api/acme/session")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == SHOP
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    widget.start()
    assert widget.call("POST", "api/messages", {"text": "   ", "client_id": "x"}).status_code == 400
    assert (
        widget.call("POST", "api/messages", {"text": "x" * 6000, "client_id": "x"}).status_code
        == 400
    )
    bad_json = widget.client.post(
        "/chat/api/messages",
        b"{nope",
        content_type="application/json",
        headers={"Origin": SHOP, "Authorization": f"Bearer {widget.token}"},
    )
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]
    with pytest.raises(ChatError):
        chat_settings_update(organisation=chat_org, allowed_origins=["shop.example.com"])


def test_agents_signal_typing_only_on_conversations_they_see(
    chat_org: Organisation, agent_a: User, client: Client
) -> None:
    widget = Widget()
    widget.start()
    message_id = widget.call("POST", "api/messages", {"text": "hello", "client_id": "t1"}).json()[
        "id"
    ]
    conversation = Message.objects.get(pk=message_id).conversation
    client.force_login(agent_a)
    assert client.post(f"/chat/agent/conversations/{conversation.pk}/typing").status_code == 204
    assert widget.call("GET", "api/messages").json()["agent_typing"] is True
    assert client.post("/chat/agent/conversations/999999/typing").status_code == 404


def test_a_flood_of_messages_is_slowed_down(chat_org: Organisation) -> None:
    from calmdesk.channels.chat import MAX_MESSAGES_PER_MINUTE

    widget = Widget()
    widget.start()
    codes = [
        widget.call("POST", "api/messages", {"text": f"spam {n}", "client_id": f"s{n}"}).status_code
        for n in range(MAX_MESSAGES_PER_MINUTE + 1)
    ]
    assert codes == [201] * MAX_MESSAGES_PER_MINUTE + [429]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        (" https://shop.example.com ", "https://shop.example.com"),
    ],
)
def test_origins_are_stored_in_their_normal_form(typed: str, stored: str) -> None:
    from calmdesk.channels.chat import origin_check

    assert origin_check(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "https://shop.example.com/checkout",
        "https://shop.example.com?page=1",
        "https://shop.example.com#chat",
        "https://*.example.com",
        "https://admin@shop.example.com",
        "https://shop.example.com:http",
        "ftp://shop.example.com",
        "shop.example.com",
        "",
    ],
)
def test_origins_an_admin_might_mistype_are_refused(typed: str) -> None:
    from calmdesk.channels.chat import origin_check

    with pytest.raises(ChatError):
        origin_check(typed)


def test_settings_default_until_saved_and_keep_the_title_when_none_is_given(
    org: Organisation,
) -> None:
    from calmdesk.channels.chat import chat_settings_for
    from calmdesk.channels.models import ChatSettings

    unsaved = chat_settings_for(org)
    assert unsaved.pk is None and unsaved.allowed_origins == [] and unsaved.enabled
    chat_settings_update(organisation=org, allowed_origins=[SHOP], title="Talk to us")
    chat_settings_update(organisation=org, allowed_origins=[SHOP, SHOP + "/"], enabled=False)
    saved = ChatSettings.objects.get(organisation=org)
    assert saved.title == "Talk to us" and saved.allowed_origins == [SHOP] and not saved.enabled
    with pytest.raises(ChatError):
        chat_settings_update(organisation=org, allowed_origins=[SHOP] * 51)


def test_the_greeting_is_kept_changed_or_removed_and_reaches_the_widget(
    chat_org: Organisation, client: Client
) -> None:
    from calmdesk.audit.models import AuditEvent
    from calmdesk.channels.chat import chat_settings_for

    assert chat_settings_for(chat_org).greeting.startswith("Hi!")  # a default greeting
    chat_settings_update(
        organisation=chat_org, allowed_origins=[SHOP], greeting="  Hello from Acme.  "
    )
    chat_settings_update(organisation=chat_org, allowed_origins=[SHOP], title="Acme chat")
    assert chat_settings_for(chat_org).greeting == "Hello from Acme."  # None keeps it
    changed = AuditEvent.objects.filter(action="chat.settings_updated").first()
    assert changed is not None and "greeting" in changed.data["after"]
    with pytest.raises(ChatError, match="greeting is at most 500"):
        chat_settings_update(organisation=chat_org, allowed_origins=[SHOP], greeting="x" * 501)

    started = client.post(
        f"/chat/api/{chat_org.slug}/session", HTTP_ORIGIN=SHOP, content_type="application/json"
    )
    assert started.status_code == 201
    assert started.json()["greeting"] == "Hello from Acme."

    chat_settings_update(organisation=chat_org, allowed_origins=[SHOP], greeting="")
    started = client.post(
        f"/chat/api/{chat_org.slug}/session", HTTP_ORIGIN=SHOP, content_type="application/json"
    )
    assert started.json()["greeting"] == ""


def _events(response: Any) -> list[dict[str, Any]]:
    """The `update` events of a finished server-sent event stream, parsed."""
    text = b"".join(response.streaming_content).decode()
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("event") == "update":
            events.append({"id": int(fields["id"]), **json.loads(fields["data"])})
    return events


def test_the_stream_sends_replies_and_typing_as_server_sent_events(
    chat_org: Organisation, agent_a: User, settings: Any
) -> None:
    settings.CALMDESK_CHAT_STREAM_SECONDS = 0.3
    settings.CALMDESK_CHAT_STREAM_INTERVAL = 0.1
    widget = Widget()
    widget.start()
    sent = widget.call(
        "POST", "api/messages", {"text": "Where is my <b>parcel</b>?", "client_id": "s1"}
    )
    conversation = Message.objects.get(pk=sent.json()["id"]).conversation
    reply = reply_send(conversation=conversation, author=agent_a, body_text="Checking now.")
    chat_agent_typing(conversation=conversation)

    response = widget.call("GET", f"api/stream?after={sent.json()['id']}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert response["Cache-Control"] == "no-cache"
    events = _events(response)
    first = events[0]
    assert [line["id"] for line in first["messages"]] == [reply.pk]
    assert (
        first["messages"][0]["from"] == "agent" and first["messages"][0]["text"] == "Checking now."
    )
    assert first["id"] == reply.pk
    # Typing is confirmed on every tick while it lasts; nothing is sent twice.
    assert len(events) >= 2 and all(event["agent_typing"] for event in events)
    assert all(event["messages"] == [] for event in events[1:])

    # Nothing new and nobody typing: only the retry hint, no update.
    ChatPresence.objects.filter(conversation=conversation).update(agent_typing_until=None)
    assert _events(widget.call("GET", f"api/stream?after={reply.pk}")) == []


def test_the_stream_checks_token_origin_and_can_be_turned_off(
    chat_org: Organisation, settings: Any
) -> None:
    settings.CALMDESK_CHAT_STREAM_SECONDS = 0.1
    widget = Widget()
    assert widget.call("GET", "api/stream").status_code == 401
    widget.start()
    assert widget.call("GET", "api/stream?after=x").status_code == 400
    assert widget.call("POST", "api/stream").status_code == 405
    stranger = Widget(origin="https://evil.example.net")
    stranger.token = widget.token
    assert stranger.call("GET", "api/stream").status_code == 403
    settings.CALMDESK_CHAT_STREAM_SECONDS = 0
    off = widget.call("GET", "api/stream")
    assert off.status_code == 404 and off["Access-Control-Allow-Origin"] == SHOP


def test_nul_and_lone_surrogates_from_json_are_stored_as_replacement_characters(
    chat_org: Organisation,
) -> None:
    widget = Widget()
    widget.start()
    body = b'{"text": "hello\\u0000 there \\ud800", "client_id": "nul-1", "name": "P\\u0000at"}'
    sent = widget.client.post(
        "/chat/api/messages",
        body,
        content_type="application/json",
        headers={"Origin": SHOP, "Authorization": f"Bearer {widget.token}"},
    )
    assert sent.status_code == 201
    message = Message.objects.get(pk=sent.json()["id"])
    assert message.body_text == "hello\ufffd there \ufffd"
