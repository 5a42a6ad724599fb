"""The simulated customer's state machine, with the coach's verdicts fixed by the test."""

from __future__ import annotations

import pytest

from calmdesk.training import PracticeSession, find_scenario
from calmdesk.training.customer import ABUSE_FLOOR, load_profiles, react
from calmdesk.training.reading import read_reply

from .helpers import TableCoach, coaching

ACK = "I'm so sorry, I can see how frustrating this has been."
PARA = (
    "So the kettle leaks from the base after five weeks and you were just told no. Is that right?"
)
FIX = "I will send you a replacement kettle and I'll email you the tracking by 5pm today."
CALM_DOWN = "Calm down, please."
POLICY = "It's our policy, there is nothing I can do."


def table() -> TableCoach:
    return TableCoach(
        {
            ACK: coaching(ACK, techniques={"apology": 0.9, "empathy": 0.9}),
            PARA: coaching(PARA, techniques={"paraphrase": 0.8, "question": 0.9}),
            FIX: coaching(
                FIX, techniques={"ownership": 0.9, "next_step": 0.9}, promise="by 5pm today"
            ),
            CALM_DOWN: coaching(CALM_DOWN, harms=["dismissing_emotion"]),
            POLICY: coaching(POLICY, harms=["policy_hiding", "refusing_ownership"]),
        }
    )


def session(scenario_id: str = "refund-kettle", **kwargs) -> PracticeSession:
    return PracticeSession(find_scenario(scenario_id), coach=kwargs.pop("coach", table()), **kwargs)


def test_acknowledgement_calms_and_builds_trust():
    practice = session()
    turn = practice.reply(ACK)
    assert turn.after.anger < turn.before.anger - 10
    assert turn.after.trust > turn.before.trust
    assert {effect.cause for effect in turn.helped} == {"apology", "empathy"}
    assert not turn.hurt


def test_calm_down_and_policy_speak_inflame():
    practice = session()
    first = practice.reply(CALM_DOWN)
    assert first.after.anger > first.before.anger + 10
    assert [effect.cause for effect in first.hurt] == ["dismissing_emotion"]
    second = practice.reply(POLICY)
    assert sum(e.trust for e in second.hurt) <= -20
    assert second.after.trust == max(
        0.0, second.before.trust + sum(e.trust for e in second.effects)
    )
    assert {e.cause for e in second.hurt} == {"policy_hiding", "refusing_ownership"}


def test_model_conversation_ends_satisfied():
    practice = session()
    practice.reply(ACK)
    practice.reply(PARA)
    last = practice.reply(FIX)
    assert last.outcome == "satisfied"
    assert practice.finished
    assert last.customer in [
        practice.scenario.fill(line) for line in practice.scenario.lines["satisfied"]
    ]
    causes = {effect.cause for effect in last.helped}
    assert {"offer", "timed_next_step", "ownership"} <= causes


def test_solving_before_acknowledging_does_not_land():
    practice = session()
    turn = practice.reply(FIX)
    assert turn.outcome is None
    assert "solution_too_soon" in {effect.cause for effect in turn.hurt}
    assert not {"offer", "timed_next_step"} & {effect.cause for effect in turn.effects}
    assert turn.after.anger >= turn.before.anger
    assert not practice.progress.committed
    # The same fix after the customer feels heard does land.
    practice.reply(ACK)
    later = practice.reply(FIX)
    assert "timed_next_step" in {effect.cause for effect in later.helped}


def test_fix_in_the_same_reply_as_the_first_apology_lands_only_if_anger_is_already_low():
    fix_with_ack = ACK + " " + FIX
    coach = TableCoach(
        {
            fix_with_ack: coaching(
                fix_with_ack,
                techniques={"apology": 0.9, "empathy": 0.9, "ownership": 0.9, "next_step": 0.9},
                promise="by 5pm today",
            )
        }
    )
    hot = session("late-sofa", coach=coach).reply(fix_with_ack)  # starts at anger 80
    assert "solution_too_soon" in {e.cause for e in hot.hurt}
    mild = session("late-cot-indecisive", coach=coach).reply(fix_with_ack)  # starts at 45
    assert "timed_next_step" in {e.cause for e in mild.helped}


def test_a_next_step_without_a_time_builds_less_trust_than_one_with_a_time():
    untimed = "I will look into a replacement for you."
    coach = table()
    coach.table[untimed] = coaching(untimed, techniques={"ownership": 0.9, "next_step": 0.9})
    a = session(coach=coach)
    a.reply(ACK)
    vague = a.reply(untimed)
    b = session(coach=coach)
    b.reply(ACK)
    timed = b.reply(FIX)
    assert timed.delta["trust"] > vague.delta["trust"]
    assert "next_step" in {e.cause for e in vague.helped}
    assert vague.outcome is None  # no time committed, so not settled yet


def test_repeated_apologies_wear_thin():
    practice = session()
    first = practice.reply(ACK)
    second = practice.reply(ACK)
    assert abs(second.delta["anger"]) < abs(first.delta["anger"])


def test_patience_runs_out_and_the_customer_gives_up():
    practice = session("double-charge")  # impatient: patience 45, drains fast
    outcome = None
    for _ in range(10):
        turn = practice.reply("Okay.")
        outcome = turn.outcome
        if outcome:
            break
    assert outcome == "gave_up"
    assert practice.result().report.overall <= 40


def test_insulting_the_customer_ends_in_escalation():
    insult = "You are an idiot."
    coach = TableCoach({insult: coaching(insult, harms=["insult"])})
    turn = session(coach=coach).reply(insult)
    assert turn.outcome == "escalated"
    assert turn.customer  # the customer says why they are escalating


def test_anger_reaching_the_top_escalates():
    practice = session()
    while not practice.finished:
        practice.reply(CALM_DOWN)
    assert practice.outcome == "escalated"
    assert len(practice.turns) <= 3
    assert practice.state.anger == 100


BOUNDARY = (
    "I'm sorry this parcel has gone missing and I want to help, but I won't continue "
    "if the insults continue."
)


def test_abusive_customer_stays_angry_until_a_boundary_is_set():
    coach = TableCoach(
        {
            ACK: coaching(ACK, techniques={"apology": 1.0, "empathy": 1.0}),
            BOUNDARY: coaching(BOUNDARY, techniques={"apology": 0.9}),
        }
    )
    practice = session("abusive-missing-parcel", coach=coach)
    for _ in range(3):
        practice.reply(ACK)
    assert practice.state.anger >= ABUSE_FLOOR
    assert not practice.progress.boundary_set
    turn = practice.reply(BOUNDARY)
    assert practice.progress.boundary_set
    assert "boundary" in {e.cause for e in turn.helped}
    backs_down = [practice.scenario.fill(line) for line in practice.scenario.lines["backs_down"]]
    assert any(turn.customer.endswith(line) for line in backs_down)


def test_a_boundary_on_a_customer_who_is_only_upset_hurts():
    coach = TableCoach({BOUNDARY: coaching(BOUNDARY)})
    turn = session("late-sofa", coach=coach).reply(BOUNDARY)
    assert "boundary_unneeded" in {e.cause for e in turn.hurt}


ESCALATE = (
    "I'm sorry you've been left without heating. I'm passing this to my supervisor and our "
    "safety team now, and they will call you within the hour."
)


def test_threat_escalated_correctly_ends_the_session():
    coach = TableCoach({ESCALATE: coaching(ESCALATE, techniques={"apology": 0.9})})
    practice = session("threat-boiler", coach=coach)
    turn = practice.reply(ESCALATE)
    assert turn.outcome == "escalated_correctly"
    assert turn.customer in [
        practice.scenario.fill(x) for x in practice.scenario.lines["handed_over"]
    ]


def test_threat_never_escalated_is_a_missed_escalation():
    practice = session("threat-boiler")
    outcome = None
    while not practice.finished:
        outcome = practice.reply(ACK).outcome
    assert outcome in {"missed_escalation", "gave_up"}
    assert practice.result().report.scores["boundaries"] == 0


def test_reading_recognises_offers_overpromises_and_negation():
    scenario = find_scenario("refund-kettle")
    coach = table()
    offer = read_reply(
        "I will arrange a free repair, and store credit if you prefer.",
        scenario=scenario,
        conversation=(),
        coach=coach,
    )
    assert {o.id for o in offer.offers} == {"repair", "credit"}
    refused = read_reply(
        "I'm afraid we can't give a full refund today.",
        scenario=scenario,
        conversation=(),
        coach=coach,
    )
    assert refused.overpromises == ()
    promised = read_reply(
        "Don't worry, I'll refund you in full right now.",
        scenario=scenario,
        conversation=(),
        coach=coach,
    )
    assert [o.id for o in promised.overpromises] == ["cash_refund"]
    mixed = read_reply(
        "We can't give a full refund today, but I will arrange a free repair.",
        scenario=scenario,
        conversation=(),
        coach=coach,
    )
    assert [o.id for o in mixed.offers] == ["repair"]
    assert mixed.overpromises == ()
    declined = read_reply(
        "I'm not able to offer store credit.", scenario=scenario, conversation=(), coach=coach
    )
    assert declined.offers == ()


@pytest.mark.parametrize(
    ("text", "boundary"),
    [
        ("I want to help, but I can't continue this chat if the name-calling goes on.", True),
        ("If the swearing continues I will have to end this chat.", True),
        ("I'm going to end this conversation now.", True),
        ("Personal insults aren't acceptable, but I do want to sort this out.", True),
        ("I will continue to look into this for you.", False),
        ("Stop swearing.", False),
    ],
)
def test_boundary_recognition(text, boundary):
    reading = read_reply(
        text, scenario=find_scenario("abusive-refund"), conversation=(), coach=table()
    )
    assert (reading.boundary is not None) == boundary


@pytest.mark.parametrize(
    ("text", "escalation", "safety"),
    [
        ("I'm passing this to my supervisor straight away.", True, False),
        ("I am reporting this to our security team now.", True, True),
        ("My manager will call you within the hour.", True, False),
        ("I'll escalate this to the fraud team.", False, False),
        ("I understand you want a manager.", False, False),
    ],
)
def test_escalation_recognition(text, escalation, safety):
    reading = read_reply(
        text, scenario=find_scenario("threat-account-closed"), conversation=(), coach=table()
    )
    assert (reading.escalation is not None) == escalation
    assert reading.safety_escalation == safety


def test_the_coach_sees_the_conversation_so_far():
    coach = table()
    practice = session(coach=coach)
    practice.reply(ACK)
    practice.reply(PARA)
    draft, conversation = coach.calls[-1]
    assert draft == PARA
    assert [role for role, _ in conversation] == ["customer", "agent", "customer"]
    assert conversation[1] == ("agent", ACK)


def test_profiles_change_how_fast_customers_move():
    profiles = load_profiles()
    scenario = find_scenario("refund-kettle")
    from calmdesk.training.customer import CustomerState, Progress

    reading = read_reply(ACK, scenario=scenario, conversation=(), coach=table())
    start = CustomerState(70.0, 30.0, 60.0)
    confused = react(
        scenario=scenario,
        profile=profiles["confused"],
        state=start,
        progress=Progress(),
        reading=reading,
        turn=1,
    )
    chronic = react(
        scenario=scenario,
        profile=profiles["chronic_complainer"],
        state=start,
        progress=Progress(),
        reading=reading,
        turn=1,
    )
    assert confused.state.anger < chronic.state.anger
