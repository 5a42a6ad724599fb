"""Helpers for calling the API as a given staff user."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from calmdesk.accounts.models import Organisation, User
from calmdesk.api.services import token_create
from calmdesk.conversations.services import ReceiveResult, inbound_message_receive


class ApiCaller:
    """A test client that speaks JSON and carries one bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def post(self, path: str, payload: Any) -> Any:
        return self.post_raw(path, json.dumps(payload).encode())

    def post_raw(self, path: str, body: bytes, **extra: Any) -> Any:
        return self.client.generic(
            "POST",
            f"/api/v1{path}",
            body,
            content_type="application/json",
            headers=self._headers(),
            **extra,
        )


@pytest.fixture
def token_for() -> Callable[[User], str]:
    def issue(user: User) -> str:
        return token_create(user=user, name="tests").secret

    return issue


@pytest.fixture
def api_as(token_for: Callable[[User], str]) -> Callable[[User], ApiCaller]:
    def make(user: User) -> ApiCaller:
        return ApiCaller(token_for(user))

    return make


@pytest.fixture
def anonymous() -> ApiCaller:
    return ApiCaller(None)


@pytest.fixture
def receive(org: Organisation) -> Callable[..., ReceiveResult]:
    """Store an inbound message through the service, as a channel would."""

    def deliver(external_id: str, body: str, **kwargs: Any) -> ReceiveResult:
        kwargs.setdefault("customer_email", "pat@example.com")
        kwargs.setdefault("channel", "email")
        return inbound_message_receive(
            organisation=org, external_id=external_id, body_text=body, **kwargs
        )

    return deliver


def error_of(response: Any) -> dict[str, Any]:
    """The error object of an API response, checking the shape every error shares."""
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    return error
