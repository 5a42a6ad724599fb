"""Writes for the API app: issuing, revoking and checking API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from django.db import transaction
from django.utils import timezone

from calmdesk.accounts.models import Organisation, User
from calmdesk.api.models import ApiToken
from calmdesk.audit.services import audit_record
from calmdesk.lean_reads import JoinedRead, Link
from calmdesk.policies.models import Policy

TOKEN_MARK = "cdk"  # noqa: S105 - the public marker that starts every token, not a secret
PREFIX_BYTES = 6  # 12 hex characters: collisions are retried, and the prefix is not secret
SECRET_BYTES = 32  # 256 bits of randomness, so a plain (unsalted) SHA-256 is enough
MAX_TOKEN_CHARS = 200
# Writing last_used_at on every request would turn each API read into a write;
# a minute's precision is plenty to tell a live token from a forgotten one.
LAST_USED_PRECISION = timedelta(seconds=60)


class TokenError(ValueError):
    """A token operation that cannot be done as asked."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    # The only time the secret exists outside the client: show it once, never store it.
    secret: str


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def token_create(*, user: User, name: str = "", actor: User | None = None) -> IssuedToken:
    """Issue a new token acting as `user`. The returned secret is not recoverable later."""
    if user.organisation_id is None:
        raise TokenError(f"user {user.username} does not belong to an organisation")
    if not user.is_active:
        raise TokenError(f"user {user.username} is not active")
    name = name.strip()
    if len(name) > 100:
        raise TokenError("a token name is at most 100 characters")
    with transaction.atomic():
        while True:
            prefix = secrets.token_hex(PREFIX_BYTES)
            if not ApiToken.objects.filter(prefix=prefix).exists():
                break
        raw_token = f"{TOKEN_MARK}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        token = ApiToken.objects.create(
            user=user, name=name, prefix=prefix, secret_hash=hash_token(raw_token)
        )
        audit_record(
            organisation=user.organisation,  # type: ignore[arg-type]
            actor=actor,
            action="api_token.created",
            target_type="api_token",
            target_id=token.pk,
            data={"user_id": user.pk, "prefix": prefix, "name": name},
        )
    return IssuedToken(token=token, secret=raw_token)


def token_revoke(*, token: ApiToken, actor: User | None = None) -> ApiToken:
    """Stop a token from working. Revoking twice is harmless; the first time stands."""
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        if locked.user.organisation_id is not None:
            audit_record(
                organisation=locked.user.organisation,  # type: ignore[arg-type]
                actor=actor,
                action="api_token.revoked",
                target_type="api_token",
                target_id=locked.pk,
                data={"user_id": locked.user_id, "prefix": locked.prefix},
            )
    return locked


def split_token(raw_token: str) -> str | None:
    """The lookup prefix of a well-formed token, or None."""
    if len(raw_token) > MAX_TOKEN_CHARS:
        return None
    mark, _, rest = raw_token.partition("_")
    prefix, _, secret = rest.partition("_")
    if mark != TOKEN_MARK or len(prefix) != 2 * PREFIX_BYTES or not secret:
        return None
    if any(char not in "0123456789abcdef" for char in prefix):
        return None
    return prefix


# Asked on every API request. The organisation's policy comes along: every inbound message
# applies it. Through the ORM this read cost ~1 ms of CPU, most of the cheapest requests.
_TOKEN_WITH_OWNER = JoinedRead(
    Link(ApiToken),
    Link(User, through="user", required=True),
    Link(Organisation, through="organisation"),
    Link(Policy, through="policy"),
    where="prefix",
)


def token_authenticate(*, raw_token: str) -> ApiToken | None:
    """The live token matching `raw_token`, or None for unknown, revoked or malformed ones.

    Also notes when the token was last used (at most once a minute per token).
    """
    prefix = split_token(raw_token)
    if prefix is None:
        return None
    found = _TOKEN_WITH_OWNER.one(prefix)
    if found is None:
        return None
    token = cast(ApiToken, found)
    if not hmac.compare_digest(token.secret_hash, hash_token(raw_token)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
