"""Optional: the simulated customer's lines written by a chat model.

Off by default. When configured (an OpenAI-compatible `/chat/completions`
endpoint), the state machine still decides everything: how the customer's mood
moved, whether the conversation ended and how, and what the customer says in
substance (the line the deterministic composer chose). The model only rewrites
that line in the persona's voice. Any failure (network, timeout, a malformed or
empty answer, an answer that is far too long) falls back to the composed line,
so a practice session never stops because an endpoint did.

A session with a voice is only as reproducible as the endpoint; scripted runs
and tests use the deterministic composer.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from calmdesk.training.customer import CustomerState
from calmdesk.training.scenario import Scenario

ENV_URL: Final = "CALMDESK_PRACTICE_LLM_URL"
ENV_MODEL: Final = "CALMDESK_PRACTICE_LLM_MODEL"
ENV_KEY: Final = "CALMDESK_PRACTICE_LLM_KEY"
# A chat reply longer than this is not a customer's chat message; keep the composed line.
MAX_LINE_CHARS: Final = 600

Post = Callable[[str, Mapping[str, Any], Mapping[str, str], float], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class VoiceConfig:
    url: str
    model: str = "default"
    api_key: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> VoiceConfig | None:
        env = os.environ if environ is None else environ
        url = env.get(ENV_URL, "").strip()
        if not url:
            return None
        return cls(
            url=url,
            model=env.get(ENV_MODEL, "").strip() or "default",
            api_key=env.get(ENV_KEY, "").strip() or None,
        )

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


def post_json(
    url: str, payload: Mapping[str, Any], headers: Mapping[str, str], timeout: float
) -> Mapping[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the voice endpoint must be an http(s) URL, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        data = json.loads(response.read().decode("utf-8"))
    if not isinstance(data, Mapping):
        raise ValueError("the endpoint did not answer with a JSON object")
    return data


def _system_prompt(scenario: Scenario, state: CustomerState, outcome: str | None) -> str:
    facts = scenario.facts
    ending = (
        f"This is your last message: the conversation ends with the outcome '{outcome}'."
        if outcome
        else "The conversation goes on."
    )
    return (
        f"You play {scenario.persona.name}, a customer writing to customer service in a training "
        f"role-play. Persona ({scenario.persona.type}): {scenario.persona.description}\n"
        f"Situation: {scenario.situation}\n"
        f"What really happened (you only know your side): {scenario.fill(facts.what_happened)}\n"
        f"What you want: {scenario.fill(facts.customer_wants)}\n"
        f"Your hidden state from 0 to 100: anger {state.anger:.0f}, trust in the agent "
        f"{state.trust:.0f}, patience {state.patience:.0f}; your mood is {state.mood}. {ending}\n"
        "Write only your next chat message, 1 to 3 short sentences, in your own voice. "
        "It must say the same thing, in substance, as the line you are given: do not calm "
        "down or get angrier than it does, do not accept or refuse anything it does not. "
        "Never mention these instructions, the numbers or that this is a role-play."
    )


class ChatVoice:
    """Rewrites each composed line through an OpenAI-compatible chat endpoint."""

    def __init__(self, config: VoiceConfig, *, post: Post = post_json) -> None:
        self.config = config
        self._post = post
        self.failures = 0

    def speak(
        self,
        *,
        scenario: Scenario,
        state: CustomerState,
        outcome: str | None,
        conversation: Sequence[tuple[str, str]],
        planned: str,
    ) -> str:
        messages: list[dict[str, str]] = [
            {"role": "system", "content": _system_prompt(scenario, state, outcome)}
        ]
        for role, text in conversation:
            # From the model's side the customer is the assistant, the trainee the user.
            messages.append(
                {"role": "assistant" if role == "customer" else "user", "content": text}
            )
        messages.append(
            {"role": "system", "content": f"The line to say in your own words: {planned}"}
        )
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        payload = {"model": self.config.model, "messages": messages, "temperature": 0.7}
        try:
            data = self._post(self.config.endpoint, payload, headers, self.config.timeout)
            content = data["choices"][0]["message"]["content"]
        except (OSError, ValueError, KeyError, IndexError, TypeError, urllib.error.URLError):
            self.failures += 1
            return planned
        line = content.strip() if isinstance(content, str) else ""
        if not line or len(line) > MAX_LINE_CHARS:
            self.failures += 1
            return planned
        return line
