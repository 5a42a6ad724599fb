"""Workspace fixtures: conversations made through the receive service, as production makes them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.conversations.models import Conversation
from calmdesk.conversations.services import inbound_message_receive

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
PASSWORD = "a-long-test-password"

_ids = itertools.count(1)


@pytest.fixture
def receive(org: Organisation) -> Callable[..., Conversation]:
    """`receive(body, team=..., email=..., conversation=...)` -> the conversation it landed in."""

    def make(
        body: str,
        *,
        team: Team | None = None,
        email: str = "casey@example.com",
        name: str = "Casey Customer",
        subject: str = "",
        conversation: Conversation | None = None,
        body_html: str = "",
        organisation: Organisation | None = None,
    ) -> Conversation:
        result = inbound_message_receive(
            organisation=organisation or org,
            channel="email",
            external_id=f"test-{next(_ids)}@example.com",
            body_text=body,
            body_html=body_html,
            customer_email=email,
            customer_name=name,
            subject=subject,
            conversation_id=conversation.pk if conversation else None,
            team=team,
        )
        return result.conversation

    return make


@pytest.fixture
def login() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return make


def htmx(**extra: Any) -> dict[str, Any]:
    """Headers of an HTMX request (not boosted)."""
    return {"HTTP_HX_REQUEST": "true", **extra}
