"""The server's warm-up runs the packaged sets through the engine, so first requests are fast."""

from __future__ import annotations

from calmdesk.engine.trainer.evaluation import devset_path
from calmdesk.engine.warm import warm_up


def _count(name: str) -> int:
    path = devset_path(name)
    assert path is not None
    return sum(1 for line in path.read_text("utf-8").splitlines() if line.strip())


def test_warm_up_reads_every_packaged_message_and_draft() -> None:
    done = warm_up()

    assert done.messages_assessed == _count("customer_messages.jsonl") > 400
    assert done.drafts_coached == _count("agent_replies.jsonl") > 300
