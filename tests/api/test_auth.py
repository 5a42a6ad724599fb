"""Who may call the API: bearer tokens only, acting as their staff user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from calmdesk.accounts.models import User
from calmdesk.api.models import ApiToken
from calmdesk.api.services import token_create, token_revoke
from tests.api.conftest import ApiCaller, error_of

pytestmark = pytest.mark.django_db


def test_missing_token_is_401_json(anonymous: ApiCaller) -> None:
    response = anonymous.get("/conversations")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer cdk_0123456789ab_wrong",
        "Bearer not-a-token",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "Token cdk_0123456789ab_x",
    ],
)
def test_unknown_or_malformed_tokens_are_401(header: str, agent_a: User) -> None:
    token_create(user=agent_a)
    response = Client().get("/api/v1/conversations", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_revoked_token_is_401(agent_a: User) -> None:
    issued = token_create(user=agent_a)
    caller = ApiCaller(issued.secret)
    assert caller.get("/conversations").status_code == 200
    token_revoke(token=issued.token)
    response = caller.get("/conversations")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_token_of_a_deactivated_user_is_401(
    make_user: Callable[..., User], api_as: Callable[[User], ApiCaller]
) -> None:
    leaver = make_user("leaver")
    caller = api_as(leaver)
    leaver.is_active = False
    leaver.save()
    assert caller.get("/conversations").status_code == 401


def test_a_revocation_from_another_process_takes_effect_within_the_kept_seconds(
    agent_a: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's change sends no signal here: the kept row expires instead."""
    from calmdesk.api import services

    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    issued = token_create(user=agent_a)
    caller = ApiCaller(issued.secret)
    assert caller.get("/conversations").status_code == 200
    # As `calmdesk token revoke` in another process would: a write this process does not hear.
    ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=timezone.now())
    clock[0] += services.TOKEN_ROWS_SECONDS / 2
    assert caller.get("/conversations").status_code == 200
    clock[0] += services.TOKEN_ROWS_SECONDS / 2
    assert caller.get("/conversations").status_code == 401


def test_a_token_made_in_another_process_works_at_once(agent_a: User) -> None:
    """Unknown prefixes are not kept: a token is usable the moment it exists."""
    from calmdesk.api.services import hash_token

    unknown = "cdk_0123456789ab_a-secret-nobody-has-issued-yet"
    caller = ApiCaller(unknown)
    assert caller.get("/conversations").status_code == 401
    # Inserted without a signal, as a write in another process would be.
    ApiToken.objects.bulk_create(
        [ApiToken(user=agent_a, prefix="0123456789ab", secret_hash=hash_token(unknown))]
    )
    assert caller.get("/conversations").status_code == 200


def test_user_without_organisation_is_403() -> None:
    outsider = User.objects.create_user(username="outsider", password="a-long-test-password")
    # token_create refuses such users; a user who later loses their organisation is the case.
    staff = User.objects.create_user(username="staff", password="a-long-test-password")
    from calmdesk.accounts.models import Organisation

    staff.organisation = Organisation.objects.create(name="Tmp", slug="tmp")
    staff.save()
    caller = ApiCaller(token_create(user=staff).secret)
    staff.organisation = None
    staff.save()
    response = caller.get("/conversations")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert outsider.api_tokens.count() == 0


def test_a_logged_in_browser_session_cannot_use_the_api(agent_a: User) -> None:
    """Session cookies are not an API credential, so there is nothing for CSRF to forge."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent_a)
    assert browser.get("/api/v1/conversations").status_code == 401
    response = browser.post(
        "/api/v1/inbound",
        {
            "channel": "api",
            "external_id": "forged-1",
            "customer": {"email": "x@example.com"},
            "body": "forged",
        },
        content_type="application/json",
    )
    assert response.status_code == 401


def test_a_token_needs_no_csrf_token(agent_a: User, api_as: Callable[[User], ApiCaller]) -> None:
    # ApiCaller's client enforces CSRF checks like a browser would; a bearer call passes.
    response = api_as(agent_a).post("/conversations/999/replies", {"body": "hello"})
    assert response.status_code == 404
