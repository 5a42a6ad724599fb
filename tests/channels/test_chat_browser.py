"""The chat widget on a host page from another origin, in Debian's Chromium (Playwright).

A visitor writes from the host site, an agent answers in the workspace, and
the visitor sees the answer and the agent typing. Hostile text stays text.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from calmdesk.accounts.models import Organisation, User
from calmdesk.channels.chat import chat_settings_update
from calmdesk.conversations.models import Message
from tests.playwright_session import chromium_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(os.environ.get("CALMDESK_SCREENSHOT_DIR", "/work/screens"))
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"> where is my parcel?"


@pytest.fixture
def transport() -> str:
    """Extra attributes of the widget's script tag (none: polling)."""
    return ""


@pytest.fixture
def host_site(live_server: Any, transport: str) -> Iterator[str]:
    """A customer's shop page on another origin (127.0.0.1 vs live_server's localhost)."""
    page = (
        "<!doctype html><html><head><title>Shop</title></head><body><h1>Garden shop</h1>"
        f'<script src="{live_server.url}/chat/widget.js" data-calmdesk-org="acme" {transport} async>'
        "</script></body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium_browser() as launched:
        yield launched


def _wait_for(condition: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OperationalError:
            # On SQLite the live server shares the test's in-memory connection;
            # a read can meet the widget's poll. Try again.
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_visitor_and_agent_chat_across_origins(
    browser: Any,
    host_site: str,
    live_server: Any,
    org: Organisation,
    make_user: Callable[..., User],
) -> None:
    chat_settings_update(
        organisation=org,
        allowed_origins=[host_site],
        title="Talk to Acme",
        greeting="<b>Hi!</b> Ask away, a person answers here.",
    )
    agent = make_user("alice")

    visitor = browser.new_context().new_page()
    dialogs: list[str] = []
    visitor.on("dialog", lambda dialog: dialogs.append(dialog.message))
    visitor.goto(host_site)
    visitor.click("[data-calmdesk-chat] .launcher")
    # The greeting opens the log before anyone writes, as text.
    visitor.wait_for_selector("[data-calmdesk-chat] .greeting", timeout=30000)
    greeting = "<b>Hi!</b> Ask away, a person answers here."
    assert visitor.inner_text("[data-calmdesk-chat] .greeting") == greeting
    visitor.fill("[data-calmdesk-chat] textarea", HOSTILE)
    visitor.press("[data-calmdesk-chat] textarea", "Enter")
    try:
        visitor.wait_for_selector("[data-calmdesk-chat] .msg.visitor", timeout=45000)
    except Exception as exc:  # say what the widget showed, not just "timeout"
        shown = visitor.inner_text("[data-calmdesk-chat] .error")
        raise AssertionError(f"the message did not appear; the widget said {shown!r}") from exc
    assert visitor.inner_text("[data-calmdesk-chat] .msg.visitor") == HOSTILE
    assert visitor.inner_text("[data-calmdesk-chat] .head") == "Talk to Acme"

    message = _wait_for(lambda: Message.objects.filter(channel="chat").first())
    assert message.body_text == HOSTILE

    staff = browser.new_context().new_page()
    staff.goto(f"{live_server.url}/")
    staff.fill("input[name=username]", agent.username)
    staff.fill("input[name=password]", "a-long-test-password")
    staff.click("button[type=submit]")
    staff.wait_for_url(f"{live_server.url}/")
    staff.goto(f"{live_server.url}/conversations/{message.conversation_id}/")
    # The agent sees the hostile text as text too.
    assert HOSTILE in staff.inner_text("body")

    # The agent starts a reply in the workspace; the visitor sees it, and it fades
    # a few seconds after the agent stops.
    staff.click("#reply-body")
    staff.keyboard.type("I am sorry")
    visitor.wait_for_selector("[data-calmdesk-chat] .typing:has-text('typing')", timeout=15000)
    visitor.wait_for_selector(
        "[data-calmdesk-chat] .typing:text-is('')", state="attached", timeout=20000
    )
    staff.keyboard.type(" about")
    visitor.wait_for_selector("[data-calmdesk-chat] .typing:has-text('typing')", timeout=15000)

    reply = "I am sorry your parcel has not arrived. I am checking with the courier now and will write again within ten minutes."
    staff.fill("#reply-body", reply)
    staff.click("button:has-text('Send reply')")
    # Wait on the widget, not on the database: on SQLite the live server shares the test's
    # in-memory connection, and a read from this thread while the reply is being written
    # can make that write fail ("database table is locked", a shared-cache artefact a file
    # or PostgreSQL database does not have).
    visitor.wait_for_selector("[data-calmdesk-chat] .msg.agent", timeout=30000)
    assert _wait_for(
        lambda: Message.objects.filter(
            conversation=message.conversation, direction="outbound"
        ).exists()
    )
    agent_text = visitor.inner_text("[data-calmdesk-chat] .msg.agent")
    assert reply in agent_text and "Alice" in agent_text
    visitor.wait_for_selector("[data-calmdesk-chat] .typing:text-is('')", state="attached")
    # After a reload the conversation and the title are still there.
    visitor.reload()
    visitor.click("[data-calmdesk-chat] .launcher")
    visitor.wait_for_selector("[data-calmdesk-chat] .msg.agent", timeout=15000)
    assert visitor.inner_text("[data-calmdesk-chat] .head") == "Talk to Acme"
    assert len(visitor.query_selector_all("[data-calmdesk-chat] .msg")) == 2
    assert visitor.title() == "Shop" and dialogs == []
    try:
        SCREENS.mkdir(parents=True, exist_ok=True)
        visitor.screenshot(path=str(SCREENS / "chat-widget.png"))
    except OSError:
        pass  # a read-only CI checkout still runs the assertions


@pytest.mark.parametrize("transport", ['data-calmdesk-transport="sse"'])
def test_with_server_sent_events_the_visitor_gets_replies_and_typing_without_polling(
    browser: Any,
    host_site: str,
    org: Organisation,
    make_user: Callable[..., User],
    settings: Any,
) -> None:
    from calmdesk.channels.chat import chat_agent_typing
    from calmdesk.conversations.services import reply_send

    settings.CALMDESK_CHAT_STREAM_SECONDS = 4
    chat_settings_update(organisation=org, allowed_origins=[host_site])
    agent = make_user("alice")
    visitor = browser.new_context().new_page()
    requests: list[tuple[str, str]] = []
    visitor.on("request", lambda request: requests.append((request.method, request.url)))
    visitor.goto(host_site)
    visitor.click("[data-calmdesk-chat] .launcher")
    visitor.fill("[data-calmdesk-chat] textarea", "Is my order on its way?")
    visitor.press("[data-calmdesk-chat] textarea", "Enter")
    visitor.wait_for_selector("[data-calmdesk-chat] .msg.visitor", timeout=45000)
    message = _wait_for(lambda: Message.objects.filter(channel="chat").first())

    _wait_for(lambda: chat_agent_typing(conversation=message.conversation) or True)
    visitor.wait_for_selector("[data-calmdesk-chat] .typing:has-text('typing')", timeout=15000)
    _wait_for(
        lambda: reply_send(
            conversation=message.conversation, author=agent, body_text="Yes, it left today."
        )
    )
    visitor.wait_for_selector("[data-calmdesk-chat] .msg.agent", timeout=15000)
    assert "Yes, it left today." in visitor.inner_text("[data-calmdesk-chat] .msg.agent")
    visitor.wait_for_selector(
        "[data-calmdesk-chat] .typing:text-is('')", state="attached", timeout=15000
    )
    # Past the end of the first stream, the widget opened the next one.
    visitor.wait_for_timeout(5000)
    streams = [url for method, url in requests if "/api/stream" in url]
    polls = [url for method, url in requests if method == "GET" and "/api/messages" in url]
    assert len(streams) >= 2, requests
    # One look when the panel opens and one after sending; the stream does the rest.
    assert len(polls) <= 2, polls


def test_a_visitor_who_sends_before_the_session_answers_starts_one_session(
    browser: Any,
    host_site: str,
    live_server: Any,
    org: Organisation,
) -> None:
    chat_settings_update(organisation=org, allowed_origins=[host_site], title="Talk to Acme")
    visitor = browser.new_context().new_page()
    held: list[Any] = []
    # The session answer is held back, as on a slow line, while the visitor sends.
    visitor.route("**/chat/api/*/session", lambda route: held.append(route))
    visitor.goto(host_site)
    visitor.click("[data-calmdesk-chat] .launcher")
    visitor.fill("[data-calmdesk-chat] textarea", "Is anyone there?")
    visitor.press("[data-calmdesk-chat] textarea", "Enter")
    visitor.wait_for_timeout(500)
    assert len(held) == 1, "the widget asked for a second session while the first was pending"
    held[0].continue_()
    visitor.wait_for_selector("[data-calmdesk-chat] .msg.visitor", timeout=30000)
    assert visitor.inner_text("[data-calmdesk-chat] .msg.visitor") == "Is anyone there?"
    message = _wait_for(lambda: Message.objects.filter(channel="chat").first())
    assert message.body_text == "Is anyone there?"
