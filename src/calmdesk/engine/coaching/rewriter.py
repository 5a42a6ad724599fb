"""Optional whole-reply rewrites from any OpenAI-compatible chat endpoint (off by default).

The engine never needs it: every avoid finding already carries deterministic rewrites. When
an organisation configures an endpoint (URL and model name, e.g. from CALMDESK_REWRITER_URL
and CALMDESK_REWRITER_MODEL), `rewrite()` asks it for calmer versions of the draft and runs
each one through `coach` before it is shown: suggestions with blocking findings, or that
score no better than the draft, are dropped. Any failure (network, timeout, bad answer)
gives no suggestions and says why; it never raises.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from calmdesk.engine.coaching.conversation import read_turns
from calmdesk.engine.coaching.reply_coach import coach
from calmdesk.engine.coaching.types import Coaching

SEPARATOR: Final = "\n---\n"
_MAX_ANSWER_BYTES: Final = 200_000
_INSTRUCTIONS: Final = (
    "You help customer-service agents answer upset customers. Rewrite the agent's draft reply "
    "so that it: apologises sincerely on behalf of the company, names the customer's feeling, "
    "restates their problem in new words, takes ownership ('I will ...') and gives a concrete "
    "next step with a time. Keep every fact, number and promise of the draft; invent none. "
    "No blame, no policy-hiding, no commands, no sarcasm, short plain sentences. "
    "Write {count} alternative versions, separated by a line containing only ---. "
    "Output only the replies."
)


@dataclass(frozen=True, slots=True)
class RewriterConfig:
    url: str
    model: str
    api_key: str | None = None
    timeout_seconds: float = 8.0
    suggestions: int = 2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RewriterConfig | None:
        """The configured endpoint, or None (the default: no rewriter)."""
        env = os.environ if environ is None else environ
        url, model = env.get("CALMDESK_REWRITER_URL", ""), env.get("CALMDESK_REWRITER_MODEL", "")
        if not url or not model:
            return None
        return cls(url=url, model=model, api_key=env.get("CALMDESK_REWRITER_API_KEY") or None)


@dataclass(frozen=True, slots=True)
class Suggestion:
    text: str
    coaching: Coaching

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "coaching": self.coaching.to_dict()}


@dataclass(frozen=True, slots=True)
class Rewrites:
    suggestions: tuple[Suggestion, ...]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"suggestions": [s.to_dict() for s in self.suggestions], "error": self.error}


def _endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def _request_body(draft: str, conversation: Iterable[Any], config: RewriterConfig) -> bytes:
    lines = [f"{turn.role}: {turn.text}" for turn in read_turns(conversation)[-6:]]
    user = "Conversation so far:\n" + "\n".join(lines) + f"\n\nAgent's draft reply:\n{draft}"
    body = {
        "model": config.model,
        "temperature": 0.4,
        "messages": [
            {"role": "system", "content": _INSTRUCTIONS.format(count=config.suggestions)},
            {"role": "user", "content": user},
        ],
    }
    return json.dumps(body).encode("utf-8")


def _answer_texts(payload: Any) -> list[str]:
    texts: list[str] = []
    for choice in payload.get("choices", []) if isinstance(payload, dict) else []:
        message = choice.get("message") if isinstance(choice, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.extend(part.strip() for part in content.split(SEPARATOR.strip()))
    return [text for text in texts if text]


def rewrite(
    draft: str,
    *,
    conversation: Iterable[Any] = (),
    config: RewriterConfig | None = None,
    now: datetime | None = None,
    timezone: str = "UTC",
) -> Rewrites:
    """Coached suggestions from the configured endpoint; none when it is off or fails."""
    if config is None:
        return Rewrites((), None)
    if not config.url.startswith(("http://", "https://")):
        return Rewrites((), "rewriter URL must start with http:// or https://")
    conversation = list(conversation)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        _endpoint(config.url),
        data=_request_body(draft, conversation, config),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout_seconds) as response:  # noqa: S310
            payload = json.loads(response.read(_MAX_ANSWER_BYTES).decode("utf-8", "replace"))
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        return Rewrites((), f"rewriter unavailable: {exc}")
    original = coach(draft, conversation=conversation, now=now, timezone=timezone)
    suggestions: list[Suggestion] = []
    for text in _answer_texts(payload)[: config.suggestions * 2]:
        coached = coach(text, conversation=conversation, now=now, timezone=timezone)
        if coached.blocking or coached.score <= original.score:
            continue  # never show a suggestion that is worse than, or as bad as, the draft
        suggestions.append(Suggestion(text, coached))
    suggestions.sort(key=lambda suggestion: -suggestion.coaching.score)
    error = None if suggestions else "the rewriter offered nothing better than the draft"
    return Rewrites(tuple(suggestions[: config.suggestions]), error)
