"""Serving a stored email attachment: always as a download, never rendered by the browser.

A customer controls an attachment's bytes and its declared type. An HTML or SVG
file opened inline on our origin would run its scripts with the agent's
session, so every response is `Content-Disposition: attachment`, carries
`nosniff` and a sandboxing CSP, and names a type only from a short list of
formats that cannot script; anything else goes out as application/octet-stream.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from calmdesk.channels.models import EmailAttachment

# Types a browser does not execute; the declared type is kept only for these.
PASSIVE_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "text/csv",
        "text/plain",
    }
)


def download_content_type(declared: str) -> str:
    media_type = declared.split(";", 1)[0].strip().lower()
    return media_type if media_type in PASSIVE_TYPES else "application/octet-stream"


def attachment_response(attachment: EmailAttachment) -> HttpResponse:
    """The attachment's bytes as a download (the caller has checked the reader may see it)."""
    content = bytes(attachment.content or b"")
    response = HttpResponse(content, content_type=download_content_type(attachment.content_type))
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=attachment.filename or f"attachment-{attachment.pk}"
    )
    response["Content-Length"] = str(len(content))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Customers' files stay out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response
