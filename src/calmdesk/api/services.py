"""Writes for the API app: issuing, revoking and checking API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

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

# Even hand-written, that read is a round trip per request (~0.2 ms of web CPU and as much
# in PostgreSQL on the ingest benchmark), for rows that almost never change. Each process
# keeps the rows it read for TOKEN_ROWS_SECONDS. Revoking a token, deactivating its user or
# editing the policy in this process drops them at once (`token_rows_forget`, connected to
# post_save/post_delete of those models); done in another process (`calmdesk token revoke`,
# another server worker) it takes effect there within TOKEN_ROWS_SECONDS. Only found rows
# are kept, so a token made anywhere works at once. Each request builds its own model
# instances from the kept row; the policy document in it is shared and only ever read.
TOKEN_ROWS_SECONDS = 2.0
_token_rows: dict[str, tuple[float, tuple[Any, ...]]] = {}
# The token's columns come first in the row.
_LAST_USED_AT = [field.attname for field in ApiToken._meta.concrete_fields].index("last_used_at")


def token_rows_forget(**kwargs: object) -> None:
    """Signal receiver: a token, user, organisation or policy was written in this process."""
    _token_rows.clear()


def _token_row(prefix: str) -> tuple[Any, ...] | None:
    now = time.monotonic()
    kept = _token_rows.get(prefix)
    if kept is not None and now - kept[0] < TOKEN_ROWS_SECONDS:
        return kept[1]
    row = _TOKEN_WITH_OWNER.row(prefix)
    if row is None:
        _token_rows.pop(prefix, None)
    else:
        if len(_token_rows) >= 1000:
            # Many distinct prefixes (a scan with made-up tokens): start again.
            _token_rows.clear()
        _token_rows[prefix] = (now, row)
    return row


def token_authenticate(*, raw_token: str) -> ApiToken | None:
    """The live token matching `raw_token`, or None for unknown, revoked or malformed ones.

    Also notes when the token was last used (at most once a minute per token).
    """
    prefix = split_token(raw_token)
    if prefix is None:
        return None
    row = _token_row(prefix)
    if row is None:
        return None
    token = cast(ApiToken, _TOKEN_WITH_OWNER.instances(row))
    if not hmac.compare_digest(token.secret_hash, hash_token(raw_token)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        kept = _token_rows.get(prefix)
        if kept is not None:
            # The kept row says so too, or every request would write it until the row expires.
            changed = list(kept[1])
            changed[_LAST_USED_AT] = now
            _token_rows[prefix] = (kept[0], tuple(changed))
    return token
