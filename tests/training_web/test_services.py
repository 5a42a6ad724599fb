from __future__ import annotations

from pathlib import Path

import pytest

from calmdesk.training import find_scenario, play_script
from calmdesk.training_web.models import PracticeRun
from calmdesk.training_web.selectors import team_results, trainee_progress
from calmdesk.training_web.services import (
    PracticeRunError,
    practice_run_finish,
    practice_run_reply,
    practice_run_session,
    practice_run_start,
)

SCRIPTS = Path(__file__).parents[1] / "training" / "scripts"
pytestmark = pytest.mark.django_db


def script(name: str) -> list[str]:
    return [line for line in (SCRIPTS / name).read_text().splitlines() if line.strip()]


def test_a_run_replays_to_exactly_the_simulators_conversation(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="refund-kettle", seed=11)
    lines = script("refund-kettle.good.txt")
    turns = [practice_run_reply(run=run, text=line) for line in lines]
    run.refresh_from_db()
    assert run.replies == lines
    assert run.outcome == "satisfied"
    assert run.finished_at is not None
    direct = play_script(find_scenario("refund-kettle"), lines, seed=11)
    assert [t.customer for t in turns] == [t.customer for t in direct.turns]
    assert run.overall == direct.report.overall
    assert run.scores == dict(direct.report.scores)
    # A fresh replay from the stored replies gives the same session again.
    assert practice_run_session(run).result().transcript == direct.transcript


def test_no_replies_after_the_end_and_empty_replies_refused(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="refund-kettle", seed=1)
    with pytest.raises(PracticeRunError, match="empty"):
        practice_run_reply(run=run, text="   ")
    assert PracticeRun.objects.get(pk=run.pk).replies == []
    for line in script("refund-kettle.bad.txt"):
        if run.finished:
            break
        practice_run_reply(run=run, text=line)
    assert run.outcome == "escalated"
    with pytest.raises(PracticeRunError, match="over"):
        practice_run_reply(run=run, text="Sorry!")


def test_finishing_early_scores_the_run_as_unfinished(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="late-sofa", coach_visible=False)
    practice_run_reply(run=run, text=script("late-sofa.good.txt")[0])
    practice_run_finish(run=run)
    assert run.outcome == "unfinished"
    assert run.overall is not None and run.overall < 70
    assert not run.coach_visible
    practice_run_finish(run=run)  # finishing twice changes nothing
    assert PracticeRun.objects.get(pk=run.pk).outcome == "unfinished"


def test_unknown_scenario_and_user_without_organisation(agent_a, django_user_model):
    with pytest.raises(PracticeRunError, match="no scenario"):
        practice_run_start(trainee=agent_a, scenario_id="nope")
    loner = django_user_model.objects.create_user(username="loner", password="x" * 20)
    with pytest.raises(PracticeRunError, match="organisation"):
        practice_run_start(trainee=loner, scenario_id="late-sofa")


def test_a_retired_scenario_is_a_clear_error(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="late-sofa")
    PracticeRun.objects.filter(pk=run.pk).update(scenario_id="retired-one")
    run.refresh_from_db()
    with pytest.raises(PracticeRunError, match="no longer available"):
        practice_run_reply(run=run, text="Hello")


def test_progress_and_team_results(agent_a, agent_b, supervisor_a, admin_user):
    good = practice_run_start(trainee=agent_a, scenario_id="refund-kettle", seed=2)
    for line in script("refund-kettle.good.txt"):
        practice_run_reply(run=good, text=line)
    bad = practice_run_start(trainee=agent_a, scenario_id="refund-kettle", seed=3)
    for line in script("refund-kettle.bad.txt"):
        if not bad.finished:
            practice_run_reply(run=bad, text=line)
    practice_run_start(trainee=agent_a, scenario_id="late-sofa")  # still in progress
    practice_run_start(trainee=agent_b, scenario_id="late-sofa")

    progress = trainee_progress(agent_a)
    assert progress.finished == 2
    assert progress.resolved == 1
    assert progress.trend == [good.overall, bad.overall]
    assert progress.average == round((good.overall + bad.overall) / 2, 1)
    assert set(progress.by_item) == set(good.scores)

    rows = {row.trainee.username: row for row in team_results(supervisor_a)}
    assert set(rows) == {"alice", "sam"}  # bob is in another team
    assert (rows["alice"].runs, rows["alice"].finished, rows["alice"].resolved) == (3, 2, 1)
    assert rows["alice"].best == good.overall
    assert {row.trainee.username for row in team_results(admin_user)} >= {"alice", "bob", "sam"}
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        team_results(agent_a)
