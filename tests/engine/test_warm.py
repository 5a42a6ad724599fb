"""The server's warm-up runs the packaged sets through the engine, so first requests are fast."""

from __future__ import annotations

import json
from importlib import resources

from calmdesk.engine.warm import warm_up


def _count(name: str) -> int:
    text = resources.files("calmdesk.engine").joinpath(f"devsets/{name}").read_text("utf-8")
    return sum(1 for line in text.splitlines() if line.strip() and json.loads(line))


def test_warm_up_reads_every_packaged_message_and_draft() -> None:
    done = warm_up()

    assert done.messages_assessed == _count("customer_messages.jsonl") > 400
    assert done.drafts_coached == _count("agent_replies.jsonl") > 300
