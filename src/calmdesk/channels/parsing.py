"""Turning raw RFC 822 bytes into what the helpdesk needs, whatever state the email is in.

Real mail is often malformed: missing boundaries, lying charsets, raw 8-bit
headers, broken base64. Parsing never raises; what cannot be read is recorded
as a defect and the raw bytes are kept by the caller, so nothing is lost.
Pure Python: no Django, so it can be tested and reused on its own.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message as StdlibMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

MISSING_ID_DOMAIN = "missing-message-id.calmdesk.invalid"

# Labels mail clients use for Windows-1252 text: WHATWG decodes them all as
# Windows-1252, which also gets curly quotes and the euro sign right when a
# client sends them under a Latin-1 label.
_WINDOWS_1252_ALIASES = frozenset(
    {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"}
)
_MSG_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes
    size: int
    inline: bool


@dataclass(frozen=True)
class DeliveryReport:
    """What a delivery status notification (RFC 3464) says about a message we sent."""

    original_message_id: str | None
    recipient: str
    action: str
    status: str
    diagnostic: str


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_address: str | None
    reply_to_address: str | None
    to_addresses: tuple[str, ...]
    date: datetime | None
    text: str
    html: str
    attachments: tuple[ParsedAttachment, ...]
    # Every header as (lower-cased name, decoded value), in order.
    headers: tuple[tuple[str, str], ...]
    content_type: str
    report_type: str
    delivery_reports: tuple[DeliveryReport, ...]
    defects: tuple[str, ...]

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)


def raw_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def derived_message_id(raw: bytes) -> str:
    """A stable stand-in for a missing Message-ID: the same bytes always give the same id."""
    return f"sha256-{raw_digest(raw)[:48]}@{MISSING_ID_DOMAIN}"


def message_ids(value: str | None) -> tuple[str, ...]:
    """The ids in a Message-ID / In-Reply-To / References header, without angle brackets."""
    if not value:
        return ()
    found = _MSG_ID.findall(value)
    if found:
        return tuple(found)
    # Some clients drop the brackets; a lone token with an @ is still an id.
    bare = value.strip()
    if bare and " " not in bare and "@" in bare:
        return (bare,)
    return ()


def decode_bytes(payload: bytes, charset: str | None) -> tuple[str, str | None]:
    """Text from bytes in a declared charset, and a defect note when the label was wrong."""
    label = (charset or "").strip().strip('"').lower()
    if label in _WINDOWS_1252_ALIASES:
        label = "windows-1252"
    if label:
        try:
            codecs.lookup(label)
        except LookupError:
            return _decode_guess(payload), f"UnknownCharset({label})"
        try:
            return payload.decode(label), None
        except UnicodeDecodeError:
            if label == "windows-1252":
                # Five bytes are undefined in Windows-1252; Latin-1 maps them all.
                return payload.decode("latin-1"), None
            return _decode_guess(payload), f"MislabelledCharset({label})"
    return _decode_guess(payload), None


def _decode_guess(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("windows-1252", errors="replace")


def storable_text(value: str) -> str:
    """Text every database can keep: no NUL (PostgreSQL refuses it), no lone surrogates.

    Both stand for bytes that were not text; U+FFFD marks where they were.
    """
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in value)
    return value


def _clean_header(value: str) -> str:
    """A header value as readable text: RFC 2047 words decoded, raw 8-bit bytes rescued."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        # The stdlib keeps undecodable header bytes as surrogate escapes.
        value = _decode_guess(value.encode("ascii", "surrogateescape"))
    try:
        decoded = str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError, AssertionError):
        decoded = value
    return storable_text(" ".join(decoded.split()))


def _first_address(value: str | None) -> tuple[str, str | None]:
    if not value:
        return "", None
    try:
        pairs = getaddresses([value])
    except (ValueError, IndexError, TypeError):
        return "", None
    for name, address in pairs:
        address = address.strip()
        if "@" in address and " " not in address:
            return name.strip(), address
    return "", None


def _all_addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    try:
        pairs = getaddresses(list(values))
    except (ValueError, IndexError, TypeError):
        return ()
    return tuple(address for _, address in pairs if "@" in address)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


class _HtmlToText(HTMLParser):
    """Readable text from HTML: blocks become lines, quotes become '>' lines.

    Turning <blockquote> into '>' lines lets the same trimming rules remove
    quoted replies from HTML-only mail as from plain text.
    """

    _BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "ul",
            "ol",
            "hr",
        }
    )
    _SKIP = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.skip_depth = 0

    def _break(self) -> None:
        line = "".join(self.current).strip()
        self.current = []
        prefix = "> " * self.quote_depth
        self.lines.append(f"{prefix}{line}".rstrip() if line else prefix.rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip_depth += 1
        elif tag == "blockquote":
            self._break()
            self.quote_depth += 1
        elif tag == "li":
            self._break()
            self.current.append("- ")
        elif tag in self._BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "blockquote":
            self._break()
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag in self._BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.current.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        self._break()
        collapsed: list[str] = []
        for line in self.lines:
            if not line.strip(" >") and collapsed and not collapsed[-1].strip(" >"):
                continue
            collapsed.append(line)
        return "\n".join(collapsed).strip()


def html_to_text(markup: str) -> str:
    parser = _HtmlToText()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):
        # HTMLParser is lenient, but a fallback costs nothing.
        return html.unescape(re.sub(r"<[^>]+>", " ", markup)).strip()
    return parser.text()


def _part_bytes(part: StdlibMessage, defects: list[str]) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError) as exc:
        defects.append(f"UndecodablePayload({type(exc).__name__})")
        return b""
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _filename(part: StdlibMessage) -> str:
    try:
        name = part.get_filename()
    except (ValueError, TypeError, IndexError, AssertionError):
        name = None
    return _clean_header(name)[:255] if name else ""


def _disposition(part: StdlibMessage) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except (ValueError, TypeError, IndexError, AssertionError):
        return ""


_CONTENT_TYPE_ATTRIBUTE = "_calmdesk_content_type"


def _content_type(part: StdlibMessage) -> str:
    # Parsing Content-Type with policy.default is the costliest step; each part
    # is asked several times, so the answer is kept on the part.
    cached = getattr(part, _CONTENT_TYPE_ATTRIBUTE, None)
    if isinstance(cached, str):
        return cached
    try:
        content_type = part.get_content_type().lower()
    except (ValueError, TypeError, IndexError, AssertionError):
        content_type = "text/plain"
    setattr(part, _CONTENT_TYPE_ATTRIBUTE, content_type)
    return content_type


def _charset(part: StdlibMessage) -> str | None:
    try:
        return part.get_content_charset()
    except (ValueError, TypeError, IndexError, AssertionError):
        return None


def _header_text(part: StdlibMessage, name: str) -> str:
    for key, value in part.raw_items():
        if key.lower() == name:
            return _clean_header(str(value))
    return ""


def _delivery_reports(message: StdlibMessage) -> tuple[DeliveryReport, ...]:
    original_id: str | None = None
    recipients: list[tuple[str, str, str, str]] = []
    for part in message.walk():
        content_type = _content_type(part)
        if content_type in ("message/rfc822", "text/rfc822-headers") and original_id is None:
            original_id = _embedded_message_id(part)
        elif content_type == "message/delivery-status":
            for block in _status_blocks(part):
                recipient = block.get("final-recipient") or block.get("original-recipient") or ""
                if not recipient:
                    continue
                recipient = recipient.split(";", 1)[-1].strip()
                recipients.append(
                    (
                        recipient,
                        block.get("action", "").lower(),
                        block.get("status", ""),
                        block.get("diagnostic-code", ""),
                    )
                )
    return tuple(
        DeliveryReport(
            original_message_id=storable_text(original_id) if original_id else None,
            recipient=storable_text(recipient),
            action=storable_text(action),
            status=storable_text(status),
            diagnostic=storable_text(diagnostic[:1000]),
        )
        for recipient, action, status, diagnostic in recipients
    )


def _embedded_message_id(part: StdlibMessage) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], StdlibMessage):
        ids = message_ids(_header_text(payload[0], "message-id"))
        return ids[0] if ids else None
    text = payload if isinstance(payload, str) else ""
    match = re.search(r"(?im)^message-id:\s*(.+)$", text)
    if match:
        ids = message_ids(match.group(1))
        return ids[0] if ids else None
    return None


def _status_blocks(part: StdlibMessage) -> list[dict[str, str]]:
    """The per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):
        for block in payload:
            if isinstance(block, StdlibMessage):
                blocks.append({k.lower(): _clean_header(str(v)) for k, v in block.raw_items()})
        return blocks
    text = payload if isinstance(payload, str) else ""
    for chunk in re.split(r"\r?\n\s*\r?\n", text):
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            if ":" in line:
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        if fields:
            blocks.append(fields)
    return blocks


def _leaf_parts(part: StdlibMessage) -> list[StdlibMessage]:
    """Body parts in order; a forwarded message/rfc822 is one part, not opened up."""
    if _content_type(part).startswith("message/") or not part.is_multipart():
        return [part]
    payload = part.get_payload()
    if not isinstance(payload, list):
        return [part]
    leaves: list[StdlibMessage] = []
    for child in payload:
        if isinstance(child, StdlibMessage):
            leaves.extend(_leaf_parts(child))
    return leaves


def parse_email(raw: bytes) -> ParsedEmail:
    """Everything the helpdesk uses from one raw email. Never raises on bad input."""
    defects: list[str] = []
    message = email.message_from_bytes(raw, policy=email.policy.default)

    headers = tuple((key.lower(), _clean_header(str(value))) for key, value in message.raw_items())

    def first(name: str) -> str | None:
        for key, value in headers:
            if key == name:
                return value
        return None

    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[ParsedAttachment] = []
    for part in _leaf_parts(message):
        content_type = _content_type(part)
        if content_type.startswith("multipart/"):
            # A multipart with no usable boundary: its body is all we have.
            payload = part.get_payload()
            if isinstance(payload, str) and payload.strip():
                texts.append(storable_text(payload.strip()))
            continue
        if content_type in ("message/delivery-status", "text/rfc822-headers"):
            continue
        disposition = _disposition(part)
        filename = _filename(part)
        is_body_text = content_type in ("text/plain", "text/html") and (
            disposition != "attachment" and not (filename and disposition)
        )
        if is_body_text:
            body, charset_defect = decode_bytes(_part_bytes(part, defects), _charset(part))
            if charset_defect:
                defects.append(charset_defect)
            if storable_text(body) != body:
                defects.append("NotText(NUL or invalid characters replaced)")
                body = storable_text(body)
            (texts if content_type == "text/plain" else htmls).append(body)
            continue
        if content_type == "message/rfc822":
            inner = part.get_payload()
            data = (
                inner[0].as_bytes()
                if isinstance(inner, list) and inner and isinstance(inner[0], StdlibMessage)
                else b""
            )
            filename = filename or "forwarded-message.eml"
        else:
            data = _part_bytes(part, defects)
        attachments.append(
            ParsedAttachment(
                filename=storable_text(
                    filename or f"attachment.{content_type.rsplit('/', 1)[-1][:12]}"
                ),
                content_type=storable_text(content_type[:100]),
                payload=data,
                size=len(data),
                inline=disposition == "inline",
            )
        )
    # Decoding adds defects (bad base64, for one), so they are collected last.
    for part in message.walk():
        defects.extend(type(defect).__name__ for defect in getattr(part, "defects", []))

    html_body = "\n".join(part for part in htmls if part.strip())
    text_body = "\n\n".join(part.strip() for part in texts if part.strip())
    if not text_body and html_body:
        text_body = html_to_text(html_body)
    text_body = text_body.replace("\r\n", "\n").replace("\r", "\n")

    from_name, from_address = _first_address(first("from"))
    if from_address is None:
        defects.append("MissingFromAddress")
    _, reply_to = _first_address(first("reply-to"))
    own_id = message_ids(first("message-id"))
    if not own_id:
        defects.append("MissingMessageId")
    try:
        report_type = (message.get_param("report-type") or "") if message.is_multipart() else ""
    except (ValueError, TypeError, IndexError):
        report_type = ""
    content_type = _content_type(message)
    reports = _delivery_reports(message) if content_type == "multipart/report" else ()

    return ParsedEmail(
        message_id=own_id[0] if own_id else None,
        in_reply_to=message_ids(first("in-reply-to")),
        references=message_ids(" ".join(v for k, v in headers if k == "references")),
        subject=(first("subject") or "")[:1000],
        from_name=from_name[:200],
        from_address=from_address.lower() if from_address else None,
        reply_to_address=reply_to.lower() if reply_to else None,
        to_addresses=_all_addresses(tuple(v for k, v in headers if k in ("to", "cc"))),
        date=_parse_date(first("date")),
        text=text_body,
        html=html_body,
        attachments=tuple(attachments),
        headers=headers,
        content_type=content_type,
        report_type=str(report_type).lower(),
        delivery_reports=reports,
        defects=tuple(dict.fromkeys(defects)),
    )
