"""Which conversation an email belongs to.

Headers first: In-Reply-To and References name earlier messages, ours or the
customer's. When a mail client dropped them, a token such as "[#CD-123]" in
the subject (we put it in every reply) finds the conversation instead.
"""

from __future__ import annotations

import re

from calmdesk.accounts.models import Organisation
from calmdesk.channels.models import EmailDelivery, RawEmail
from calmdesk.channels.parsing import ParsedEmail
from calmdesk.conversations.models import Channel, Conversation, Message

_TOKEN = re.compile(r"\[#CD-(\d{1,12})\]", re.IGNORECASE)
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|rv|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)
MAX_REFERENCES = 50


def subject_token(conversation_id: int) -> str:
    return f"[#CD-{conversation_id}]"


def token_conversation_id(subject: str) -> int | None:
    match = _TOKEN.search(subject)
    return int(match.group(1)) if match else None


def subject_without_token(subject: str) -> str:
    """The subject as a new conversation's title: no reply prefixes, no token."""
    cleaned = _TOKEN.sub("", subject)
    cleaned = _REPLY_PREFIX.sub("", cleaned)
    return " ".join(cleaned.split())


def referenced_ids(parsed: ParsedEmail) -> tuple[str, ...]:
    """Ids this email answers, most specific first: In-Reply-To, then References newest first."""
    ordered = [*parsed.in_reply_to, *reversed(parsed.references[-MAX_REFERENCES:])]
    return tuple(dict.fromkeys(ordered))


def thread_conversation_id(*, organisation: Organisation, parsed: ParsedEmail) -> int | None:
    """The conversation this email continues, or None for a new one."""
    ids = referenced_ids(parsed)
    if ids:
        found = _by_message_ids(organisation, ids)
        if found is not None:
            return found
    token_id = token_conversation_id(parsed.subject)
    if (
        token_id is not None
        and Conversation.objects.filter(pk=token_id, organisation=organisation).exists()
    ):
        return token_id
    return None


def _by_message_ids(organisation: Organisation, ids: tuple[str, ...]) -> int | None:
    rank = {message_id: position for position, message_id in enumerate(ids)}
    candidates: list[tuple[int, int]] = []
    for external_id, conversation_id in Message.objects.filter(
        organisation=organisation, channel=Channel.EMAIL, external_id__in=ids
    ).values_list("external_id", "conversation_id"):
        if external_id is not None:
            candidates.append((rank[external_id], conversation_id))
    for header, conversation_id in EmailDelivery.objects.filter(
        message__organisation=organisation, message_id_header__in=ids
    ).values_list("message_id_header", "message__conversation_id"):
        candidates.append((rank[header], conversation_id))
    # Auto-replies are not messages, but a customer may answer one.
    for external_id, raw_conversation_id in RawEmail.objects.filter(
        organisation=organisation, external_id__in=ids, conversation__isnull=False
    ).values_list("external_id", "conversation_id"):
        if raw_conversation_id is not None:
            candidates.append((rank[external_id], raw_conversation_id))
    if not candidates:
        return None
    return min(candidates)[1]
