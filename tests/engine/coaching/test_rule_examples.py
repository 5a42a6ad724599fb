"""Every rule carries its own good and bad examples; this one test runs all of them."""

from __future__ import annotations

import pytest

from calmdesk.engine.coaching import coach
from calmdesk.engine.coaching.rules import Example, rulebook

CASES = [
    pytest.param(rule.id, verdict, example, id=f"{rule.id}-{verdict}-{index}")
    for rule in rulebook().rules.values()
    for verdict, examples in (("bad", rule.bad_examples), ("good", rule.good_examples))
    for index, example in enumerate(examples)
]


def _found(rule_id: str, example: Example) -> list[str]:
    conversation = [("customer", example.customer)] if example.customer is not None else []
    coaching = coach(example.draft, conversation=conversation)
    return [finding.text for finding in coaching.findings if finding.rule == rule_id]


@pytest.mark.parametrize(("rule_id", "verdict", "example"), CASES)
def test_rule_example(rule_id: str, verdict: str, example: Example) -> None:
    found = _found(rule_id, example)
    if verdict == "bad":
        assert found, f"{rule_id} should fire on {example.draft!r}"
    else:
        assert not found, f"{rule_id} should not fire on {example.draft!r}, found {found}"
