from __future__ import annotations

from collections.abc import Callable

import pytest

from calmdesk.engine import PlaybookState
from calmdesk.engine import playbook as engine_playbook
from calmdesk.engine.coaching import PLAYBOOK_STAGES, playbook
from calmdesk.engine.coaching.customer import CustomerMood

ANGRY = "My boiler broke AGAIN and nobody turned up yesterday. You are useless!!"


@pytest.fixture
def hot_customer(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    import importlib

    module = importlib.import_module("calmdesk.engine.coaching.playbook")

    def apply() -> None:
        def fake(text: str) -> CustomerMood:
            hot = "useless" in text or "!!" in text
            return CustomerMood(
                anger=0.9 if hot else 0.1,
                frustration=0.6 if hot else 0.1,
                abuse=0.6 if "useless" in text else 0.0,
                negative=0.9 if hot else 0.4,
                gratitude=0.0,
                shouting=hot,
                source="test",
            )

        monkeypatch.setattr(module, "customer_mood", fake)

    return apply


def test_exported_from_engine() -> None:
    assert engine_playbook is playbook


def test_fresh_angry_message_next_is_composure(hot_customer: Callable[[], None]) -> None:
    hot_customer()
    state = playbook([("customer", ANGRY)])
    assert isinstance(state, PlaybookState)
    assert [stage.name for stage in state.stages] == list(PLAYBOOK_STAGES)
    assert state.stage("composure").status == "todo"
    assert state.stage("vent").status == "todo"
    assert state.stage("record").status == "todo"  # abuse must reach a supervisor
    assert state.next_stage == "composure"
    assert state.next_action


def test_rushed_fix_is_missed_vent_and_next_is_acknowledge(
    hot_customer: Callable[[], None],
) -> None:
    hot_customer()
    state = playbook([("customer", ANGRY), ("agent", "Reset the boiler with the red button.")])
    assert state.stage("composure").status == "done"
    vent = state.stage("vent")
    assert vent.status == "missed"
    assert vent.evidence[0].message == 1
    assert vent.evidence[0].rule == "solution_before_acknowledgement"
    assert state.stage("acknowledge").status == "missed"
    assert state.next_stage == "acknowledge"


def test_good_handling_marks_stages_done_with_evidence(hot_customer: Callable[[], None]) -> None:
    hot_customer()
    conversation = [
        ("customer", ANGRY),
        ("agent", "I'm so sorry, being left without heating after a no-show must be awful."),
        ("customer", "It is. I waited all day."),
        (
            "agent",
            "So the engineer didn't come yesterday and the boiler has failed again? "
            "I've logged this as a complaint for my supervisor. "
            "I'll book the first slot tomorrow and call you by 10am to confirm.",
        ),
    ]
    state = playbook(conversation, timezone="Europe/London")
    for name in (
        "composure",
        "vent",
        "acknowledge",
        "paraphrase",
        "resolve",
        "record",
        "follow_up",
    ):
        assert state.stage(name).status == "done", (name, state.stage(name))
    acknowledge = state.stage("acknowledge")
    assert acknowledge.evidence[0].message == 1
    assert "sorry" in acknowledge.evidence[0].phrase.lower()
    assert state.stage("follow_up").evidence[0].rule == "promise"
    assert state.next_stage is None
    assert state.to_dict()["stages"][0]["name"] == "composure"


def test_hitting_back_breaks_composure(hot_customer: Callable[[], None]) -> None:
    hot_customer()
    state = playbook([("customer", ANGRY), ("agent", "Who do you think you're talking to?")])
    assert state.stage("composure").status == "missed"
    assert state.next_stage == "composure"


def test_calm_question_needs_no_vent_or_apology() -> None:
    state = playbook([("customer", "Hello, what time do you open on Saturdays?")])
    assert state.stage("vent").status == "not_needed"
    assert state.stage("record").status == "not_needed"


def test_empty_and_malformed_conversations() -> None:
    assert playbook([]).next_stage == "composure"
    state = playbook([None, 5, ("customer",), {"role": None}, ("agent", None)])  # type: ignore[list-item]
    assert state.stage("composure").status == "done"


def test_record_stage_quotes_the_customers_own_words_when_assess_flags_them() -> None:
    state = playbook([("customer", "You useless idiots, I will see you in court over this.")])
    record = state.stage("record")
    assert record.status == "todo"
    message = "You useless idiots, I will see you in court over this."
    for evidence in record.evidence:
        assert evidence.message == 0
        assert evidence.phrase in message
    noted = playbook(
        [("customer", message), ("agent", "I've logged this with my supervisor as a complaint.")]
    )
    assert noted.stage("record").status == "done"
    assert noted.stage("record").evidence[0].rule == "recorded"


def test_customer_who_answers_with_thanks_has_been_resolved() -> None:
    state = playbook(
        [
            ("customer", "Which date does my supply start, the 14th or the 18th?"),
            ("agent", "It starts on the 14th; the 18th is your old supplier's final reading."),
            ("customer", "Perfect, that makes sense. Thanks Sam!"),
        ]
    )
    resolve = state.stage("resolve")
    assert resolve.status == "done"
    assert resolve.evidence[-1].rule == "customer_confirmed"
    assert resolve.evidence[-1].message == 2
    assert state.next_stage is None


def test_thanks_with_a_fresh_complaint_is_not_a_resolution() -> None:
    state = playbook(
        [
            ("customer", "Which date does my supply start, the 14th or the 18th?"),
            ("agent", "It starts on the 14th; the 18th is your old supplier's final reading."),
            ("customer", "Thanks, but that is wrong again and I am still being charged twice."),
        ]
    )
    assert all(e.rule != "customer_confirmed" for e in state.stage("resolve").evidence)


def test_thanks_before_any_reply_resolves_nothing() -> None:
    state = playbook([("customer", "Thanks in advance, where is my parcel?")])
    assert state.stage("resolve").status != "done"
