"""Writes for practice runs: start, reply, finish."""

from __future__ import annotations

import random

from django.db import transaction
from django.utils import timezone

from calmdesk.accounts.models import Role, User
from calmdesk.training import (
    PracticeError,
    PracticeResult,
    PracticeSession,
    Scenario,
    Turn,
    find_scenario,
)
from calmdesk.training.scenario import scenario_from_toml
from calmdesk.training_web.models import CustomScenario, PracticeRun
from calmdesk.training_web.scenarios import organisation_scenarios

# Seeds are drawn from this range when the trainee does not pick one.
SEED_RANGE = 1_000_000


class PracticeRunError(Exception):
    """A practice action that cannot be done, with a message for the trainee."""


def practice_run_start(
    *,
    trainee: User,
    scenario_id: str,
    coach_visible: bool = True,
    seed: int | None = None,
) -> PracticeRun:
    if trainee.organisation_id is None:
        raise PracticeRunError("Only members of an organisation can practise.")
    try:
        scenario = find_scenario(scenario_id, organisation_scenarios(trainee.organisation_id))
    except KeyError as exc:
        raise PracticeRunError(f"There is no scenario {scenario_id!r}.") from exc
    return PracticeRun.objects.create(
        organisation_id=trainee.organisation_id,
        trainee=trainee,
        scenario_id=scenario.id,
        scenario_title=scenario.title,
        persona=scenario.persona.type,
        seed=random.randrange(SEED_RANGE) if seed is None else seed,
        coach_visible=coach_visible,
    )


def practice_run_session(run: PracticeRun) -> PracticeSession:
    """The live session of a run, rebuilt by replaying its stored replies."""
    try:
        scenario = find_scenario(run.scenario_id, organisation_scenarios(run.organisation_id))
    except KeyError as exc:
        raise PracticeRunError(
            f"The scenario {run.scenario_id!r} of this run is no longer available."
        ) from exc
    session = PracticeSession(scenario, seed=run.seed)
    for reply in run.replies:
        if session.finished:
            break
        session.reply(reply)
    return session


def _record(run: PracticeRun, result: PracticeResult) -> None:
    run.outcome = result.report.outcome
    run.overall = result.report.overall
    run.scores = dict(result.report.scores)
    run.finished_at = timezone.now()


def practice_run_reply(*, run: PracticeRun, text: str) -> Turn:
    """Play one trainee reply; the run is locked so a double submit cannot fork it."""
    with transaction.atomic():
        locked = PracticeRun.objects.select_for_update().get(pk=run.pk)
        if locked.finished:
            raise PracticeRunError("This practice run is over. Start a new one to try again.")
        session = practice_run_session(locked)
        try:
            turn = session.reply(text)
        except PracticeError as exc:
            raise PracticeRunError(str(exc).capitalize() + ".") from exc
        locked.replies = [*locked.replies, turn.reply]
        if session.finished:
            _record(locked, session.result())
        locked.save()
    run.refresh_from_db()
    return turn


def practice_run_finish(*, run: PracticeRun) -> PracticeRun:
    """End a run early; it is scored as unfinished."""
    with transaction.atomic():
        locked = PracticeRun.objects.select_for_update().get(pk=run.pk)
        if not locked.finished:
            _record(locked, practice_run_session(locked).result())
            locked.save()
    run.refresh_from_db()
    return run


class ScenarioPermissionDenied(PracticeRunError):
    pass


SCENARIO_EDITORS = (Role.ADMIN, Role.SUPERVISOR)


def practice_scenario_save(*, author: User, source: str) -> tuple[CustomScenario, Scenario]:
    """Validate and store a scenario for the author's organisation.

    Raises ScenarioError (with every problem) for an invalid source; nothing is stored.
    Saving under a shipped scenario's id makes the organisation's own version of it.
    """
    if author.role not in SCENARIO_EDITORS or author.organisation_id is None:
        raise ScenarioPermissionDenied("Only supervisors and admins edit practice scenarios.")
    scenario = scenario_from_toml(source, source="the scenario")
    custom, _ = CustomScenario.objects.update_or_create(
        organisation_id=author.organisation_id,
        scenario_id=scenario.id,
        defaults={"source": source, "updated_by": author},
    )
    return custom, scenario


def practice_scenario_delete(*, author: User, scenario_id: str) -> bool:
    """Remove the organisation's own version; a shipped scenario with that id comes back."""
    if author.role not in SCENARIO_EDITORS or author.organisation_id is None:
        raise ScenarioPermissionDenied("Only supervisors and admins edit practice scenarios.")
    deleted, _ = CustomScenario.objects.filter(
        organisation_id=author.organisation_id, scenario_id=scenario_id
    ).delete()
    return deleted > 0
