from __future__ import annotations

import json

import pytest

from calmdesk.training import (
    RUBRIC_ITEMS,
    PracticeError,
    PracticeSession,
    find_scenario,
    play_script,
)
from calmdesk.training.session import MAX_REPLY_CHARS

from .helpers import TableCoach, coaching
from .test_customer import ACK, CALM_DOWN, FIX, PARA, POLICY, table

WANDERING = ["Okay.", "Right.", "I see.", "Hmm.", "Let me check.", "Okay then.", "Sure."]


def test_same_seed_same_transcript_and_other_seeds_vary():
    scenario = find_scenario("late-sofa")
    runs = {
        seed: play_script(scenario, WANDERING, seed=seed, coach=table()).transcript
        for seed in (1, 1, 2, 3, 4)
    }
    again = play_script(scenario, WANDERING, seed=1, coach=table()).transcript
    assert runs[1] == again
    assert len({runs[seed] for seed in (1, 2, 3, 4)}) > 1


def test_customer_lines_do_not_repeat_until_a_bank_runs_out():
    result = play_script(find_scenario("defect-washer"), WANDERING[:4], seed=5, coach=table())
    customer_lines = [text for role, text in result.transcript if role == "customer"]
    assert len(customer_lines) == len(set(customer_lines))


def test_transcript_alternates_and_starts_with_the_opening():
    result = play_script(find_scenario("refund-kettle"), [ACK, PARA, FIX], coach=table())
    roles = [role for role, _ in result.transcript]
    assert roles == ["customer", "trainee"] * 3 + ["customer"]
    assert result.transcript[0][1].startswith("I was told NO refund on my kettle.")


def test_script_stops_at_the_end_and_skips_blank_lines():
    result = play_script(
        find_scenario("refund-kettle"), ["", ACK, "   ", PARA, FIX, "never played"], coach=table()
    )
    assert [turn.reply for turn in result.turns] == [ACK, PARA, FIX]
    assert result.outcome == "satisfied"


def test_bad_replies_are_refused_with_a_reason():
    practice = PracticeSession(find_scenario("refund-kettle"), coach=table())
    with pytest.raises(PracticeError, match="empty"):
        practice.reply("   ")
    with pytest.raises(PracticeError, match="characters"):
        practice.reply("x" * (MAX_REPLY_CHARS + 1))
    assert practice.turns == []
    practice.reply(ACK)
    practice.reply(PARA)
    practice.reply(FIX)
    with pytest.raises(PracticeError, match="over"):
        practice.reply(ACK)


def test_good_and_bad_reports():
    good = play_script(find_scenario("refund-kettle"), [ACK, PARA, FIX], coach=table())
    bad = play_script(find_scenario("refund-kettle"), [POLICY, CALM_DOWN, POLICY], coach=table())
    assert good.outcome == "satisfied"
    assert bad.outcome == "escalated"
    assert set(good.report.scores) == set(RUBRIC_ITEMS)
    assert all(0 <= score <= 100 for score in good.report.scores.values())
    assert good.report.overall >= 75
    assert bad.report.overall <= 40
    assert good.report.best is not None and good.report.best.quote in (ACK, PARA, FIX)
    assert good.report.worst is None
    assert bad.report.worst is not None and bad.report.worst.quote
    assert bad.report.suggestions
    assert bad.report.scores["vent"] < good.report.scores["vent"]
    assert bad.report.scores["acknowledgement"] < 30


def test_unfinished_session_is_reported_as_such():
    result = play_script(find_scenario("refund-kettle"), [ACK], coach=table())
    assert result.outcome is None
    assert result.report.outcome == "unfinished"
    assert any("did not reach an end" in s for s in result.report.suggestions)


def test_overpromising_costs_resolution_points():
    promise = "I'm so sorry. I'll refund you in full by 5pm today."
    coach = table()
    coach.table[promise] = coaching(
        promise, techniques={"apology": 0.9, "next_step": 0.9}, promise="by 5pm today"
    )
    result = play_script(find_scenario("refund-kettle"), [ACK, PARA, promise], coach=coach)
    assert "overpromise" in {e.cause for t in result.turns for e in t.hurt}
    assert result.report.scores["resolution"] < 50


def test_result_is_json_ready():
    result = play_script(find_scenario("refund-kettle"), [ACK, PARA, FIX], seed=3, coach=table())
    data = json.loads(json.dumps(result.to_dict()))
    assert data["outcome"] == "satisfied"
    assert data["seed"] == 3
    assert data["scenario"]["persona"] == "demanding"
    assert [t["state"] for t in data["turns"]] == [t.after.to_dict() for t in result.turns]
    assert data["report"]["overall"] == result.report.overall
    assert set(data["report"]["scores"]) == set(RUBRIC_ITEMS)
    assert data["turns"][0]["helped"][0]["delta"]["anger"] < 0


def test_escape_hatch_customer_text_is_not_interpreted():
    # Trainee text with braces or markup goes through untouched.
    weird = "{item} [bold]hi[/bold] <script>"
    coach = TableCoach({})
    result = play_script(find_scenario("refund-kettle"), [weird], coach=coach)
    assert result.turns[0].reply == weird
