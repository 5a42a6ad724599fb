from __future__ import annotations

from importlib import resources

import pytest

from calmdesk.engine.coaching import RULE_IDS
from calmdesk.engine.coaching.rules import RuleError, load_rulebook, rulebook


def packaged_files() -> dict[str, str]:
    folder = resources.files("calmdesk.engine.coaching") / "rules"
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def test_every_shared_rule_id_is_defined_with_examples() -> None:
    book = rulebook()
    assert set(book.rules) == set(RULE_IDS)
    for rule in book.rules.values():
        assert len(rule.bad_examples) >= 2 and len(rule.good_examples) >= 2, rule.id


def test_pattern_rules_have_many_phrasings() -> None:
    files = packaged_files()
    text = "\n".join(files.values())
    for rule_id in ("blame", "policy_hiding", "refusing_ownership", "command", "dismissing_emotion",
                    "arguing", "condescension", "sarcasm", "insult", "threat_back"):  # fmt: skip
        start = text.index(f'id = "{rule_id}"')
        block = text[start : text.find("[[rule]]", start)]
        assert block.count("'''") // 2 >= 8, rule_id


def extra_rule(body: str) -> dict[str, str]:
    files = packaged_files()
    files["zz_extra.toml"] = body
    return files


VALID_BODY = """
[[rule]]
id = "{id}"
kind = "avoid"
severity = "medium"
explanation = "A long enough explanation of why it hurts."
rewrites = ["Say it kindly."]
patterns = ['{pattern}']
good_examples = ["a", "b"]
bad_examples = ["c", "d"]
"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (VALID_BODY.format(id="blame", pattern="x"), "defined twice"),
        (VALID_BODY.format(id="rudeness", pattern="x"), "shared vocabulary"),
        (VALID_BODY.format(id="blame", pattern="you .* wrong"), "unbounded"),
        (VALID_BODY.format(id="blame", pattern="(unclosed"), "bad pattern"),
        (VALID_BODY.format(id="blame", pattern="Upper"), "lower-case"),
        (VALID_BODY.format(id="blame", pattern="{NOPE}"), "unknown macro"),
        ("[[rule]\nbroken", "zz_extra.toml"),
    ],
)
def test_invalid_rule_files_are_rejected_with_a_clear_error(body: str, message: str) -> None:
    files = extra_rule(body)
    if "defined twice" not in message and "zz_extra" not in message:
        # Replace the packaged rule so only the deliberate mistake remains.
        files = {name: text for name, text in files.items() if name != "avoid.toml"}
    with pytest.raises(RuleError, match=message):
        load_rulebook(files)


def test_missing_rules_and_examples_are_rejected() -> None:
    files = {name: text for name, text in packaged_files().items() if name != "blocking.toml"}
    with pytest.raises(RuleError, match="rules missing"):
        load_rulebook(files)
    one_example = packaged_files()
    one_example["good.toml"] = one_example["good.toml"].replace(
        'bad_examples = [\n    "Thank you for bearing with us.",\n    "Thanks for flagging this.",\n    "I really appreciate your patience.",\n]',
        'bad_examples = ["Thank you."]',
    )
    with pytest.raises(RuleError, match="at least two examples"):
        load_rulebook(one_example)


def test_blocking_is_reserved_for_the_three_blocking_rules() -> None:
    files = packaged_files()
    files["blocking.toml"] = files["blocking.toml"].replace(
        'id = "insult"\nkind = "avoid"\nseverity = "blocking"',
        'id = "insult"\nkind = "avoid"\nseverity = "high"',
    )
    with pytest.raises(RuleError, match="blocking"):
        load_rulebook(files)


def test_patterns_accept_contractions_written_without_apostrophes() -> None:
    import re

    from calmdesk.engine.coaching.rules import _tolerate_dropped_apostrophes

    widened = re.compile(
        _tolerate_dropped_apostrophes(r"\b(?:you(?:'re| are)|i'm|don't|that's|i've|they'll) x")
    )
    for text in ("youre x", "you're x", "im x", "dont x", "thats x", "ive x", "theyll x"):
        assert widened.search(text), text
    # Contractions whose apostrophe-less spelling is an ordinary word keep their apostrophe.
    kept = re.compile(_tolerate_dropped_apostrophes(r"\b(?:we'll|we're|i'll|i'd) x"))
    for text in ("well x", "were x", "ill x", "id x"):
        assert kept.search(text) is None, text
    assert _tolerate_dropped_apostrophes(r"[\w'-]") == r"[\w'-]"


def test_a_gate_reads_past_an_optional_piece() -> None:
    from calmdesk.engine.coaching.gate import gate_for

    gate = gate_for(r"\bdon'?t (?:really )?care\b")
    assert not gate.always
    for word in ("dont", "don't"):
        phrases = gate.firsts[word]
        assert phrases is not None
        assert phrases.pairs == {f"{word} care", f"{word} really"}


def test_every_rules_combined_pattern_compiles_on_first_use() -> None:
    for rule in rulebook().rules.values():
        if rule.pattern_source is not None:
            assert rule.pattern is not None and rule.pattern is rule.pattern, rule.id


def test_a_group_name_is_upper_case_at_will_but_used_once_per_rule() -> None:
    body = VALID_BODY.replace(
        "patterns = ['{pattern}']", "patterns = ['(?P<cap1>x) y', '(?P<cap1>z) w']"
    ).format(id="blame")
    files = {name: text for name, text in extra_rule(body).items() if name != "avoid.toml"}
    with pytest.raises(RuleError, match="group name 'cap1' used in two phrasings"):
        load_rulebook(files)
