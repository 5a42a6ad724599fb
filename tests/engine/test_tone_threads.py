"""The tone head's memo is shared by the web server's threads: concurrent assess calls must
give exactly what one thread gives, also while the memo fills up and starts afresh."""

from __future__ import annotations

import sys
import threading

import pytest

from calmdesk.engine import assess
from calmdesk.engine import tone as tone_module
from calmdesk.engine.tone import _Memo, default_tone_head

TEXTS = [
    f"{opening} order {number} {complaint}"
    for number in range(40)
    for opening, complaint in (
        ("Hi,", "still has not arrived and nobody answers my emails. I want a refund today."),
        ("THIRD TIME", "you useless lot, I'm cancelling and telling everyone on Twitter!!!"),
        ("Hello there,", "arrived broken, can you tell me how the return works? thanks"),
        ("Listen.", "I know where your depot is and I'll be waiting for the driver."),
    )
]


def _reading(text: str) -> tuple[object, ...]:
    result = assess(text)
    return (result.scores, result.customer_type.type, result.topic, result.flags)


def test_concurrent_calls_read_like_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    head = default_tone_head()
    if head is None:
        pytest.skip("no packaged tone head")
    expected = {text: _reading(text) for text in TEXTS}
    # A fresh memo small enough to start afresh many times while the threads run.
    object.__setattr__(head, "_state", _Memo())
    monkeypatch.setattr(tone_module, "MEMO_CHUNKS", 60)
    problems: list[str] = []

    def work(offset: int) -> None:
        try:
            for round_ in range(3):
                for index in range(len(TEXTS)):
                    text = TEXTS[(index * 7 + offset + round_) % len(TEXTS)]
                    if _reading(text) != expected[text]:
                        problems.append(f"different reading of {text!r}")
        except Exception as exc:
            problems.append(repr(exc))

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(6)]
    # Switch threads as often as the interpreter can, so they interleave inside the memo.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    assert problems == []
