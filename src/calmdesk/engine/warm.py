"""Pay the engine's first-use costs before the first user does.

The rule scans compile their narrowed patterns lazily, one group of word starts at a time, so
that importing the engine stays fast. A server that has only assessed "warm up" then makes its
first customers and agents wait for those compiles: 30-150 ms on each of the first requests
that reach a new group (measured on the 2-core machines this runs on). Running the packaged
development sets through `assess` and `coach` once, before the web workers fork, compiles the
groups real text reaches, in one process whose memory the workers share.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from calmdesk.engine.assess import assess_many
from calmdesk.engine.coaching import coach
from calmdesk.engine.trainer.data import load_devset


@dataclass(frozen=True)
class WarmUp:
    messages_assessed: int
    drafts_coached: int


def _lines(name: str) -> list[dict[str, object]]:
    return load_devset(Path(str(resources.files("calmdesk.engine").joinpath(f"devsets/{name}"))))


def warm_up() -> WarmUp:
    """Assess the packaged customer messages and coach the packaged agent replies once."""
    messages = [str(row["text"]) for row in _lines("customer_messages.jsonl")]
    assess_many(messages)
    replies = _lines("agent_replies.jsonl")
    for reply in replies:
        coach(str(reply["draft"]), conversation=[("customer", str(reply.get("customer", "")))])
    return WarmUp(messages_assessed=len(messages), drafts_coached=len(replies))
