from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from types import SimpleNamespace

import pytest

from calmdesk.engine import Coaching
from calmdesk.engine import coach as engine_coach
from calmdesk.engine.coaching import TECHNIQUES, coach

ANGRY = (
    "This is the THIRD time I've asked. My heating STILL doesn't work and you people do nothing!!"
)


def rules_of(coaching: Coaching) -> set[str]:
    return {finding.rule for finding in coaching.findings}


def test_exported_from_engine() -> None:
    assert engine_coach is coach


def test_spans_point_into_the_draft_and_explain_with_rewrites() -> None:
    draft = "Obviously you didn't read the email. As per our policy, no refunds after 30 days."
    result = coach(draft, conversation=[("customer", ANGRY)])
    assert {"condescension", "blame", "policy_hiding"} <= rules_of(result)
    for finding in result.findings:
        assert draft[finding.start : finding.end] == finding.text
        assert len(finding.explanation.split()) >= 6
        if finding.kind == "avoid":
            assert finding.rewrites, finding.rule


def test_command_rewrite_keeps_the_customers_action() -> None:
    result = coach("You need to send us a photo of the damage.")
    command = result.findings_of("command")[0]
    assert (
        "Could you send us a photo of the damage, so we can fix this quickly?" in command.rewrites
    )


def test_good_reply_scores_above_bad_reply(customer_feels: Callable[..., None]) -> None:
    customer_feels(anger=0.8)
    conversation = [("customer", ANGRY)]
    good = coach(
        "I'm so sorry, a cold house for days must be miserable. So the heating still isn't working "
        "after the last visit? I'll book an engineer for tomorrow morning and call you by 5 pm today.",
        conversation=conversation,
    )
    bad = coach("Calm down. You should have bled the radiators.", conversation=conversation)
    assert good.score >= 80
    assert bad.score <= 30
    assert good.techniques["apology"] > 0.5 and good.techniques["empathy"] > 0.5
    assert good.techniques["ownership"] > 0.5 and good.techniques["next_step"] > 0.5
    assert not good.avoid
    assert any(reason.points < 0 for reason in bad.reasons)


def test_techniques_are_probabilities_for_every_key() -> None:
    result = coach("Thanks for your patience. Which order is it?")
    assert set(result.techniques) == set(TECHNIQUES)
    assert all(0.0 <= value <= 1.0 for value in result.techniques.values())
    assert result.techniques["thanks"] > 0.5
    assert result.techniques["question"] > 0.5


def test_sarcastic_thanks_is_sarcasm_not_thanks() -> None:
    result = coach("Thanks for your patience, I guess.")
    assert "sarcasm" in rules_of(result)
    assert result.techniques["thanks"] < 0.5


def test_rhetorical_question_is_not_a_clarifying_question() -> None:
    result = coach("Did you even read the instructions?")
    assert "condescension" in rules_of(result)
    assert result.techniques["question"] < 0.5


def test_paraphrase_is_judged_against_what_the_customer_wrote() -> None:
    customer = "The new dishwasher floods the kitchen floor whenever it drains."
    restated = (
        "So your new dishwasher leaks onto the kitchen floor each time it drains, is that right?"
    )
    on_topic = coach(restated, conversation=[("customer", customer)])
    off_topic = coach(
        restated, conversation=[("customer", "My invoice shows the wrong postcode and VAT number.")]
    )
    assert on_topic.techniques["paraphrase"] >= 0.8
    assert off_topic.techniques["paraphrase"] < 0.5
    assert "paraphrase" in rules_of(on_topic)


def test_paraphrase_without_cue_phrase_by_overlap() -> None:
    customer = (
        "My parcel with the winter boots was marked delivered but it never arrived at my flat."
    )
    draft = "The winter boots parcel shows as delivered, but it never reached your flat."
    assert coach(draft, conversation=[("customer", customer)]).techniques["paraphrase"] >= 0.5
    assert (
        coach("I'll look into it.", conversation=[("customer", customer)]).techniques["paraphrase"]
        < 0.5
    )


def test_hollow_sympathy_only_when_it_is_the_only_empathy(
    customer_feels: Callable[..., None],
) -> None:
    customer_feels(anger=0.7)
    conversation = [("customer", ANGRY)]
    bare = coach("I understand. The engineer is booked.", conversation=conversation)
    backed = coach(
        "I understand. Three visits and still no heating must be exhausting.",
        conversation=conversation,
    )
    assert "hollow_sympathy" in rules_of(bare)
    assert "hollow_sympathy" not in rules_of(backed)


def test_solution_before_acknowledgement_depends_on_anger(
    customer_feels: Callable[..., None],
) -> None:
    draft = "Try resetting the thermostat to factory settings."
    customer_feels(anger=0.9)
    assert "solution_before_acknowledgement" in rules_of(
        coach(draft, conversation=[("customer", ANGRY)])
    )
    acknowledged = coach(
        "I'm really sorry, that's miserable. " + draft, conversation=[("customer", ANGRY)]
    )
    assert "solution_before_acknowledgement" not in rules_of(acknowledged)
    customer_feels(anger=0.0)
    calm = coach(draft, conversation=[("customer", "How do I reset my thermostat?")])
    assert "solution_before_acknowledgement" not in rules_of(calm)


def test_what_counts_as_acknowledgement_before_a_fix(
    customer_feels: Callable[..., None],
) -> None:
    customer_feels(anger=0.9)
    conversation = [("customer", ANGRY)]
    fix = "I've booked an engineer for tomorrow morning."
    # A stock "I understand" acknowledges (the reply is then hollow, not solution-first).
    assert "solution_before_acknowledgement" not in rules_of(
        coach("I understand. " + fix, conversation=conversation)
    )
    # An apology later in the fix's own sentence counts, and so does one after it: the rule
    # is about a fix with no acknowledgement at all (the labelled sets' convention).
    same_sentence = "I've booked an engineer for tomorrow morning, and I'm so sorry."
    assert "solution_before_acknowledgement" not in rules_of(
        coach(same_sentence, conversation=conversation)
    )
    late = coach(fix + " I'm so sorry about the wait.", conversation=conversation)
    assert "solution_before_acknowledgement" not in rules_of(late)
    bare = coach(fix, conversation=conversation)
    assert [f.text for f in bare.findings_of("solution_before_acknowledgement")] == [fix]
    # A dismissal is not the fix: the finding marks the sentence that offers the fix.
    dismissed = coach("Take a deep breath. " + fix, conversation=conversation)
    assert [f.text for f in dismissed.findings_of("solution_before_acknowledgement")] == [fix]


def test_an_earlier_reply_that_acknowledged_lets_the_next_one_go_straight_to_the_fix(
    customer_feels: Callable[..., None],
) -> None:
    customer_feels(anger=0.9)
    fix = "I've booked an engineer for tomorrow morning."
    apologised = [
        ("customer", ANGRY),
        ("agent", "I'm so sorry, three days without heating is miserable."),
        ("customer", ANGRY),
    ]
    assert "solution_before_acknowledgement" not in rules_of(coach(fix, conversation=apologised))
    # An earlier reply that only asked for details acknowledged nothing.
    asked = [("customer", ANGRY), ("agent", "What is your postcode?"), ("customer", ANGRY)]
    assert "solution_before_acknowledgement" in rules_of(coach(fix, conversation=asked))


def test_denying_what_the_customer_said_is_arguing_but_agreeing_is_not() -> None:
    dumped = [("customer", "Your courier dumped my parcel in the bin outside.")]
    denial = "The courier never dumped it, he left it by the bins."
    assert "arguing" in rules_of(coach(denial, conversation=dumped))
    # Without the customer's words there is nothing to contradict.
    assert "arguing" not in rules_of(coach(denial))
    lost = [("customer", "My parcel never arrived and nobody called me back.")]
    agreeing = "The parcel didn't arrive and nobody called you, so I've sent a new one today."
    assert "arguing" not in rules_of(coach(agreeing, conversation=lost))


def test_no_next_step_unless_solved_or_owned(customer_feels: Callable[..., None]) -> None:
    customer_feels(frustration=0.6)
    conversation = [("customer", "My refund hasn't arrived.")]
    assert "no_next_step" in rules_of(coach("Refunds can be slow.", conversation=conversation))
    assert "no_next_step" not in rules_of(
        coach("I've refunded it just now.", conversation=conversation)
    )
    assert "no_next_step" not in rules_of(
        coach("I'll chase the bank and email you by 4 pm.", conversation=conversation)
    )


def test_jargon_and_long_sentences_only_with_upset_customer(
    customer_feels: Callable[..., None],
) -> None:
    draft = "Your ticket has been escalated to the tier 2 queue for reconciliation."
    customer_feels(anger=0.8)
    assert "jargon" in rules_of(coach(draft, conversation=[("customer", ANGRY)]))
    customer_feels(anger=0.0, frustration=0.0)
    assert "jargon" not in rules_of(coach(draft, conversation=[("customer", "hi, any update?")]))


def test_mirroring_hostility(customer_feels: Callable[..., None]) -> None:
    customer_feels(anger=0.9, shouting=True)
    result = coach("I HAVE ALREADY TOLD YOU!!! It was sent.", conversation=[("customer", ANGRY)])
    spans = [f.text for f in result.findings_of("mirroring_hostility")]
    assert any("HAVE ALREADY" in text for text in spans)
    # Capitals and the "!!!" after them are one passage of shouting: one finding over both.
    assert any("!!!" in text for text in spans)
    customer_feels(anger=0.0, gratitude=0.9)
    happy = coach("Great news!! So glad it worked.", conversation=[("customer", "Thanks so much!")])
    assert "mirroring_hostility" not in rules_of(happy)


@pytest.mark.parametrize(
    ("draft", "rule"),
    [
        ("Honestly, you're an idiot.", "insult"),
        ("Shut up and listen.", "insult"),
        ("Keep this up and I'll cancel your account.", "threat_back"),
        ("You'll regret this.", "threat_back"),
        ("Your parcel went to another customer's address, 4 Elm Road.", "other_customer_data"),
    ],
)
def test_blocking_findings(draft: str, rule: str) -> None:
    result = coach(draft, conversation=[("customer", "Where is my parcel?!")])
    assert rule in {finding.rule for finding in result.blocking}
    assert result.score <= 15


def test_other_persons_email_blocks_but_customers_own_and_company_mailboxes_do_not() -> None:
    conversation = [("customer", "Please update me at sam.ruiz@example.net")]
    own = coach(
        "I've sent it to sam.ruiz@example.net, or write to support@acme.example.",
        conversation=conversation,
    )
    other = coach("It went to lena.berg@example.com by mistake.", conversation=conversation)
    assert not own.blocking
    assert [f.text for f in other.blocking] == ["lena.berg@example.com"]


def test_conversation_items_as_tuples_objects_and_mappings() -> None:
    draft = "So the blender stopped working after a week?"
    customer = "My blender stopped working after one week."
    forms = [
        [("customer", customer)],
        [SimpleNamespace(role="customer", text=customer)],
        [{"role": "customer", "text": customer}],
        [("agent", "Hello!"), ("customer", customer)],
    ]
    results = [coach(draft, conversation=form).techniques["paraphrase"] for form in forms]
    assert min(results) >= 0.8


def test_result_is_frozen_and_json_ready() -> None:
    result = coach("I'm sorry. I'll call you tomorrow at 10am.", now=None)
    with pytest.raises(FrozenInstanceError):
        result.score = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.techniques["apology"] = 0.0  # type: ignore[index]
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) >= {"score", "findings", "techniques", "promises", "blocking", "reasons"}
    assert data["findings"][0]["span"] == [result.findings[0].start, result.findings[0].end]


def test_bad_time_zone_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="time zone"):
        coach("hi", timezone="Mars/Olympus")


def test_non_text_input_does_not_raise() -> None:
    for value in (None, b"\xff\xfebytes", 42, "", "   ", "\x00" * 10):
        result = coach(value)
        assert 0 <= result.score <= 100


def test_having_to_wait_is_not_a_next_step() -> None:
    result = coach("There is nothing I can do, you will have to wait.")
    assert result.techniques["next_step"] < 0.5
    assert {"refusing_ownership", "command"} <= rules_of(result)


def test_one_finding_per_passage_for_a_refusal_told_twice() -> None:
    draft = "It's the restaurant's fault, not ours. They cook it, we just deliver it."
    result = coach(draft, conversation=[("customer", "There was chicken in my vegan meal!")])
    spans = [f.text for f in result.findings_of("refusing_ownership")]
    assert spans == ["fault, not ours. They cook it, we just deliver it"]


def test_refusals_in_sentences_far_apart_stay_two_findings() -> None:
    draft = (
        "It's the restaurant's fault, not ours. I know that's not what you want to hear. "
        "The app has a form. Anyway, we just deliver it."
    )
    result = coach(draft, conversation=[("customer", "There was chicken in my vegan meal!")])
    assert len(result.findings_of("refusing_ownership")) == 2


@pytest.mark.parametrize(
    "draft",
    [
        "Keep talking like that and I will come to your office and make you pay.",
        "Carry on like this and I'll make sure you regret it, you pathetic idiot.",
    ],
)
def test_a_threat_or_insult_is_no_next_step_and_no_rewrite_keeps_it(draft: str) -> None:
    coaching = coach(draft, tone_model=False)
    blocking = [f for f in coaching.findings if f.severity == "blocking"]
    assert blocking, "the draft must be blocked"
    # Not credited as a plan or as taking ownership...
    assert coaching.techniques["next_step"] < 0.5
    assert coaching.techniques["ownership"] < 0.5
    # ...and no other finding offers a polite frame around the threatening words.
    for finding in coaching.findings:
        if finding in blocking:
            continue
        for rewrite in finding.rewrites:
            for other in blocking:
                assert other.text.casefold() not in rewrite.casefold(), (finding.rule, rewrite)


def test_rewrites_stay_when_nothing_blocks() -> None:
    coaching = coach("You need to restart the router and send us the logs.", tone_model=False)
    command = [f for f in coaching.findings if f.rule == "command"]
    assert command and command[0].rewrites
    assert any("restart the router" in rewrite for rewrite in command[0].rewrites)
