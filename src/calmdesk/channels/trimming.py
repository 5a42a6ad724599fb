"""What the customer newly wrote, without the quoted thread and signature below it.

The engine must read the customer's new words only: an angry paragraph quoted
from three replies ago would otherwise be scored again on every reply. The
full original is kept elsewhere; this only decides what the engine reads.
Pure Python, no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "On Mon, 3 Jun 2024 at 10:12, Jane <jane@example.com> wrote:" and its
# translations as Gmail, Apple Mail and Thunderbird write them.
_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.{0,300}\bwrote\s*:"
    r"|Le\b.{0,300}\ba écrit\s*:"
    r"|Am\b.{0,300}\bschrieb\b.{0,200}:"
    r"|El\b.{0,300}\bescribió\s*:"
    r"|Op\b.{0,300}\bschreef\b.{0,200}:"
    r"|Il\b.{0,300}\bha scritto\s*:"
    r")\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(?:From|Von|De|Van|Da)\s*\*?\s*:\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden|Inviato)\s*\*?\s*:\s*\S",
    re.IGNORECASE,
)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:To|Cc|Subject|An|Betreff|À|Objet|Para|Asunto|Aan|Onderwerp)\s*\*?\s*:",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^-- ?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent from my \w[\w ]{0,40}|Sent from (?:Mail|Outlook|Yahoo Mail) for \w[\w ]{0,30}"
    r"|Get Outlook for (?:iOS|Android)|Envoyé de mon \w+|Von meinem \w[\w ]{0,30} gesendet)\s*\.?\s*$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s*>")


@dataclass(frozen=True)
class TrimResult:
    text: str
    # What was removed, in the order found: "attribution", "outlook_header",
    # "original_message", "quoted_lines", "signature", "mobile_signature".
    removed: tuple[str, ...]

    @property
    def trimmed(self) -> bool:
        return bool(self.removed)


def _join_wrapped_attribution(lines: list[str], index: int) -> bool:
    """Gmail wraps long attributions: "On ..., Jane <" / "jane@example.com> wrote:"."""
    if index + 1 >= len(lines):
        return False
    line = lines[index].strip()
    if not re.match(r"^(?:On|Le|Am|El|Op|Il)\b", line):
        return False
    return bool(_ATTRIBUTION.match(f"{line} {lines[index + 1].strip()}"))


def _outlook_header_at(lines: list[str], index: int) -> bool:
    """A "From: ... / Sent: ..." block: From, then Sent or Date within the next three lines."""
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = lines[index + 1 : index + 5]
    return any(_HEADER_SENT.match(line) for line in following) and any(
        _HEADER_OTHER.match(line) or _HEADER_SENT.match(line) for line in following
    )


def _quote_start(lines: list[str]) -> tuple[int, str] | None:
    for index, line in enumerate(lines):
        if _ATTRIBUTION.match(line) or _join_wrapped_attribution(lines, index):
            return index, "attribution"
        if _ORIGINAL_MESSAGE.match(line):
            return index, "original_message"
        if (
            _OUTLOOK_RULE.match(line)
            and index + 1 < len(lines)
            and _HEADER_FROM.match(lines[index + 1])
        ):
            return index, "outlook_header"
        if _outlook_header_at(lines, index):
            return index, "outlook_header"
    return None


def _strip_trailing_blank(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def trim_reply(text: str) -> TrimResult:
    """The new part of a reply. Never returns nothing when there was something to say."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    removed: list[str] = []

    start = _quote_start(lines)
    if start is not None:
        index, kind = start
        before = lines[:index]
        if any(line.strip() and not _QUOTED.match(line) for line in before):
            lines = before
            removed.append(kind)
        elif kind == "attribution":
            # Written below the quote: drop the "... wrote:" line, keep what follows.
            wrapped = 2 if not _ATTRIBUTION.match(lines[index]) else 1
            lines = lines[:index] + lines[index + wrapped :]
            removed.append(kind)

    if any(_QUOTED.match(line) for line in lines) and any(
        line.strip() and not _QUOTED.match(line) for line in lines
    ):
        # Inline replies keep the customer's own lines between the quotes.
        lines = [line for line in lines if not _QUOTED.match(line)]
        removed.append("quoted_lines")

    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) and any(row.strip() for row in lines[:index]):
            lines = lines[:index]
            removed.append("signature")
            break

    _strip_trailing_blank(lines)
    if lines and _MOBILE_SIGNATURE.match(lines[-1]) and any(row.strip() for row in lines[:-1]):
        lines.pop()
        removed.append("mobile_signature")

    result = "\n".join(_strip_trailing_blank(lines)).strip("\n")
    if not result.strip():
        return TrimResult(text=text.strip(), removed=())
    collapsed = re.sub(r"\n{3,}", "\n\n", result)
    return TrimResult(text=collapsed.strip(), removed=tuple(removed))
