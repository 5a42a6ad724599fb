from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calmdesk.accounts.models import User
from calmdesk.api.models import ApiToken
from calmdesk.api.services import (
    TokenError,
    hash_token,
    token_authenticate,
    token_create,
    token_revoke,
    token_rows_forget,
)
from calmdesk.audit.models import AuditEvent
from calmdesk.cli import main

pytestmark = pytest.mark.django_db


def test_create_stores_only_a_hash_of_the_secret(agent_a: User) -> None:
    issued = token_create(user=agent_a, name="mail gateway")

    assert issued.secret.startswith(f"cdk_{issued.token.prefix}_")
    assert len(issued.secret) > 40
    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert stored.secret_hash == hash_token(issued.secret)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        row_text = " ".join(str(value) for value in cursor.fetchone())
    secret_part = issued.secret.split("_", 2)[2]
    assert secret_part not in row_text
    assert AuditEvent.objects.filter(action="api_token.created", target_id=stored.pk).exists()


def test_each_token_is_different(agent_a: User) -> None:
    secrets = {token_create(user=agent_a).secret for _ in range(5)}
    assert len(secrets) == 5
    assert ApiToken.objects.values("prefix").distinct().count() == 5


def test_authenticate_accepts_the_exact_token_only(agent_a: User) -> None:
    issued = token_create(user=agent_a)

    found = token_authenticate(raw_token=issued.secret)
    assert found is not None and found.user == agent_a
    assert found.last_used_at is not None

    tampered = issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B")
    for bad in (
        tampered,
        issued.secret + "x",
        issued.secret.split("_", 2)[2],  # the secret without its prefix
        f"cdk_{issued.token.prefix}_",
        "cdk_zzzzzzzzzzzz_secret",
        "",
        "x" * 5000,
        "not a token at all",
    ):
        assert token_authenticate(raw_token=bad) is None, bad


def test_last_used_is_written_at_most_once_a_minute(agent_a: User) -> None:
    issued = token_create(user=agent_a)
    token_authenticate(raw_token=issued.secret)
    first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    token_authenticate(raw_token=issued.secret)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first

    ApiToken.objects.filter(pk=issued.token.pk).update(
        last_used_at=timezone.now() - timedelta(minutes=5)
    )
    token_rows_forget()  # the process's kept row expires (api.services.TOKEN_ROWS_SECONDS)
    token_authenticate(raw_token=issued.secret)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at > first  # type: ignore[operator]


def test_revoked_tokens_and_inactive_users_are_refused(
    agent_a: User, make_user: Callable[..., User]
) -> None:
    issued = token_create(user=agent_a)
    revoked = token_revoke(token=issued.token)
    assert revoked.revoked_at is not None
    assert token_authenticate(raw_token=issued.secret) is None
    # Revoking again changes nothing.
    assert token_revoke(token=issued.token).revoked_at == revoked.revoked_at
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1

    leaver = make_user("leaver")
    leaver_token = token_create(user=leaver)
    leaver.is_active = False
    leaver.save()
    assert token_authenticate(raw_token=leaver_token.secret) is None


def test_create_refuses_users_without_an_organisation() -> None:
    outsider = User.objects.create_user(username="outsider", password="a-long-test-password")
    with pytest.raises(TokenError, match="organisation"):
        token_create(user=outsider)


# The command line -----------------------------------------------------------


def test_cli_create_prints_the_token_once_and_it_works(
    agent_a: User, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "--user", "alice", "--name", "zapier"]) == 0
    captured = capsys.readouterr()
    secret = captured.out.strip()
    assert secret.startswith("cdk_")
    assert "cannot be shown again" in captured.err
    token = token_authenticate(raw_token=secret)
    assert token is not None and token.user == agent_a and token.name == "zapier"


def test_cli_create_for_an_unknown_user_fails_clearly(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "--user", "nobody"]) == 1
    assert "no user named 'nobody'" in capsys.readouterr().err
    assert ApiToken.objects.count() == 0


def test_cli_list_shows_tokens_without_secrets(
    agent_a: User, agent_b: User, capsys: pytest.CaptureFixture[str]
) -> None:
    alice_token = token_create(user=agent_a, name="alice-bot")
    bob_token = token_create(user=agent_b, name="bob-bot")
    token_revoke(token=bob_token.token)

    assert main(["token", "list"]) == 0
    out = capsys.readouterr().out
    assert alice_token.token.prefix in out and bob_token.token.prefix in out
    assert alice_token.secret not in out and bob_token.secret not in out
    bob_line = next(line for line in out.splitlines() if bob_token.token.prefix in line)
    assert "revoked" in bob_line
    alice_line = next(line for line in out.splitlines() if alice_token.token.prefix in line)
    assert "active" in alice_line and "never" in alice_line

    assert main(["token", "list", "--user", "alice"]) == 0
    out = capsys.readouterr().out
    assert alice_token.token.prefix in out and bob_token.token.prefix not in out


def test_cli_revoke_by_prefix_or_id(agent_a: User, capsys: pytest.CaptureFixture[str]) -> None:
    by_prefix = token_create(user=agent_a)
    by_id = token_create(user=agent_a)

    assert main(["token", "revoke", by_prefix.token.prefix]) == 0
    assert "Revoked token" in capsys.readouterr().out
    assert main(["token", "revoke", str(by_id.token.pk)]) == 0
    capsys.readouterr()
    assert token_authenticate(raw_token=by_prefix.secret) is None
    assert token_authenticate(raw_token=by_id.secret) is None

    assert main(["token", "revoke", by_prefix.token.prefix]) == 0
    assert "already revoked" in capsys.readouterr().out
    assert main(["token", "revoke", "ffffffffffff"]) == 1
    assert "no token" in capsys.readouterr().err
