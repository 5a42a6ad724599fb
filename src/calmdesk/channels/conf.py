"""Email settings, read from Django settings first and the environment second.

Credentials never live in code: IMAP passwords are named by environment
variable in the mailbox configuration, and read only when polling.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from calmdesk.accounts.models import Organisation

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Most providers refuse mail above 25-35 MB; above this we keep headers only.
DEFAULT_MAX_RAW_BYTES = 40 * 1024 * 1024
DEFAULT_API_MAX_EMAIL_BYTES = 25 * 1024 * 1024


def _setting_int(name: str, default: int) -> int:
    value: Any = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number of bytes") from exc


def _setting_seconds(name: str, default: float) -> float:
    value: Any = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} must be a number of seconds") from exc


# A chat stream ends after this long and the widget opens the next one: short enough
# that a proxy's idle timeout never cuts it, long enough that reconnecting costs little.
DEFAULT_CHAT_STREAM_SECONDS = 25.0
DEFAULT_CHAT_STREAM_INTERVAL = 1.0


def chat_stream_seconds() -> float:
    """How long one server-sent event stream lasts; 0 turns streaming off (the widget polls)."""
    return _setting_seconds("CALMDESK_CHAT_STREAM_SECONDS", DEFAULT_CHAT_STREAM_SECONDS)


def chat_stream_interval() -> float:
    """How often an open stream looks for news."""
    return _setting_seconds("CALMDESK_CHAT_STREAM_INTERVAL", DEFAULT_CHAT_STREAM_INTERVAL)


def max_attachment_bytes() -> int:
    return _setting_int("CALMDESK_EMAIL_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES)


def max_raw_bytes() -> int:
    return _setting_int("CALMDESK_EMAIL_MAX_RAW_BYTES", DEFAULT_MAX_RAW_BYTES)


def api_max_email_bytes() -> int:
    """The largest raw email the API takes (most providers stop at 25 MB, attachments included)."""
    return _setting_int("CALMDESK_API_MAX_EMAIL_BYTES", DEFAULT_API_MAX_EMAIL_BYTES)


def from_address(organisation: Organisation) -> str:
    """The address replies are sent from (and customers write to) for one organisation."""
    per_org: Any = getattr(settings, "CALMDESK_EMAIL_ORG_ADDRESSES", None)
    if per_org is None and os.environ.get("CALMDESK_EMAIL_ORG_ADDRESSES"):
        # e.g. {"acme": "Acme Support <help@acme.example>"}
        try:
            per_org = json.loads(os.environ["CALMDESK_EMAIL_ORG_ADDRESSES"])
        except json.JSONDecodeError as exc:
            raise ImproperlyConfigured("CALMDESK_EMAIL_ORG_ADDRESSES is not valid JSON") from exc
    configured = per_org.get(organisation.slug) if isinstance(per_org, dict) else None
    _, address = parseaddr(str(configured or settings.DEFAULT_FROM_EMAIL))
    return address or "support@calmdesk.localhost"


def own_addresses(organisation: Organisation) -> frozenset[str]:
    addresses = {from_address(organisation).lower()}
    addresses.update(
        mailbox.address.lower()
        for mailbox in imap_mailboxes()
        if mailbox.address and mailbox.organisation in ("", organisation.slug)
    )
    return frozenset(addresses)


@dataclass(frozen=True)
class ImapMailbox:
    name: str
    host: str
    port: int
    username: str
    password_env: str
    folder: str
    # "tls" (implicit TLS, port 993) or "starttls"; "plain" only for a loopback test server.
    security: str
    organisation: str
    address: str
    ca_file: str
    mark_seen: bool

    def password(self) -> str:
        value = os.environ.get(self.password_env)
        if not value:
            raise ImproperlyConfigured(
                f"IMAP mailbox {self.name!r}: the environment variable {self.password_env} is not set"
            )
        return value


def _mailbox_from(config: dict[str, Any], position: int) -> ImapMailbox:
    name = str(config.get("name") or f"mailbox{position}")
    security = str(config.get("security", "tls")).lower()
    if security not in ("tls", "starttls", "plain"):
        raise ImproperlyConfigured(
            f"IMAP mailbox {name!r}: security must be tls, starttls or plain"
        )
    if "password" in config:
        raise ImproperlyConfigured(
            f"IMAP mailbox {name!r}: give password_env (an environment variable name), not a password"
        )
    host = str(config.get("host") or "")
    if not host:
        raise ImproperlyConfigured(f"IMAP mailbox {name!r}: host is required")
    return ImapMailbox(
        name=name,
        host=host,
        port=int(config.get("port") or (993 if security == "tls" else 143)),
        username=str(config.get("username") or ""),
        password_env=str(config.get("password_env") or "CALMDESK_IMAP_PASSWORD"),
        folder=str(config.get("folder") or "INBOX"),
        security=security,
        organisation=str(config.get("organisation") or ""),
        address=str(config.get("address") or ""),
        ca_file=str(config.get("ca_file") or ""),
        mark_seen=bool(config.get("mark_seen", False)),
    )


def imap_mailboxes() -> tuple[ImapMailbox, ...]:
    """Mailboxes to poll: settings.CALMDESK_IMAP_MAILBOXES, else CALMDESK_IMAP_* variables.

    In the environment, CALMDESK_IMAP_MAILBOXES may hold a JSON list of the same
    objects; or CALMDESK_IMAP_HOST / _PORT / _USER / _FOLDER / _SECURITY / _ORG /
    _ADDRESS / _CA_FILE describe one mailbox whose password is CALMDESK_IMAP_PASSWORD.
    """
    configured: Any = getattr(settings, "CALMDESK_IMAP_MAILBOXES", None)
    if configured is None and os.environ.get("CALMDESK_IMAP_MAILBOXES"):
        try:
            configured = json.loads(os.environ["CALMDESK_IMAP_MAILBOXES"])
        except json.JSONDecodeError as exc:
            raise ImproperlyConfigured("CALMDESK_IMAP_MAILBOXES is not valid JSON") from exc
    if configured is None and os.environ.get("CALMDESK_IMAP_HOST"):
        configured = [
            {
                "name": "default",
                "host": os.environ["CALMDESK_IMAP_HOST"],
                "port": os.environ.get("CALMDESK_IMAP_PORT"),
                "username": os.environ.get("CALMDESK_IMAP_USER", ""),
                "password_env": "CALMDESK_IMAP_PASSWORD",
                "folder": os.environ.get("CALMDESK_IMAP_FOLDER", "INBOX"),
                "security": os.environ.get("CALMDESK_IMAP_SECURITY", "tls"),
                "organisation": os.environ.get("CALMDESK_IMAP_ORG", ""),
                "address": os.environ.get("CALMDESK_IMAP_ADDRESS", ""),
                "ca_file": os.environ.get("CALMDESK_IMAP_CA_FILE", ""),
            }
        ]
    if not configured:
        return ()
    if not isinstance(configured, list) or not all(isinstance(item, dict) for item in configured):
        raise ImproperlyConfigured("CALMDESK_IMAP_MAILBOXES must be a list of objects")
    return tuple(_mailbox_from(item, position) for position, item in enumerate(configured, 1))
