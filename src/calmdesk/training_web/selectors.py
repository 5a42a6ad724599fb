"""Reads for practice: a trainee's runs and progress, a supervisor's team results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Max, Q, QuerySet

from calmdesk.accounts.models import Role, User
from calmdesk.training import RUBRIC_ITEMS, SUCCESS_OUTCOMES
from calmdesk.training_web.models import PracticeRun

RECENT_RUNS: Final = 20


def visible_trainees(user: User) -> QuerySet[User]:
    """Whose practice `user` may see: admins their organisation, supervisors their teams."""
    if user.organisation_id is None:
        return User.objects.none()
    staff = User.objects.filter(organisation_id=user.organisation_id, is_active=True)
    if user.role == Role.ADMIN:
        return staff
    if user.role == Role.SUPERVISOR:
        # A subquery, not a join, so a trainee in two of the supervisor's teams counts once.
        members = User.objects.filter(teams__in=user.teams.all()).values("pk")
        return staff.filter(Q(pk__in=members) | Q(pk=user.pk))
    return staff.filter(pk=user.pk)


def access_practice_run(user: User, run_id: int) -> PracticeRun:
    """A run its trainee, their supervisor or an admin may see; anything else is DoesNotExist."""
    return PracticeRun.objects.select_related("trainee").get(
        pk=run_id,
        organisation_id=user.organisation_id or 0,
        trainee__in=visible_trainees(user),
    )


def trainee_runs(user: User, *, limit: int = RECENT_RUNS) -> list[PracticeRun]:
    return list(PracticeRun.objects.filter(trainee=user)[:limit])


def access_trainee(user: User, trainee_id: int) -> User:
    """A trainee whose practice `user` may see; anyone else is DoesNotExist."""
    return visible_trainees(user).get(pk=trainee_id)


@dataclass(frozen=True)
class Progress:
    finished: int
    resolved: int
    average: float | None
    by_item: dict[str, float]
    # Oldest first: the overall score of each finished run, for a trend line.
    trend: list[int]


def trainee_progress(user: User) -> Progress:
    finished = PracticeRun.objects.filter(trainee=user).exclude(outcome="")
    runs = list(finished.order_by("finished_at", "pk").values("overall", "scores", "outcome"))
    by_item: dict[str, float] = {}
    for item in RUBRIC_ITEMS:
        values = [run["scores"][item] for run in runs if item in (run["scores"] or {})]
        if values:
            by_item[item] = round(sum(values) / len(values), 1)
    overall = [run["overall"] for run in runs if run["overall"] is not None]
    return Progress(
        finished=len(runs),
        resolved=sum(1 for run in runs if run["outcome"] in SUCCESS_OUTCOMES),
        average=round(sum(overall) / len(overall), 1) if overall else None,
        by_item=by_item,
        trend=overall,
    )


@dataclass(frozen=True)
class TraineeResult:
    trainee: User
    runs: int
    finished: int
    resolved: int
    average: float | None
    best: int | None


def team_results(user: User) -> list[TraineeResult]:
    """One row per trainee the user supervises, in one query."""
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only supervisors and admins see team practice results.")
    done = ~Q(practice_runs__outcome="")
    rows = (
        visible_trainees(user)
        .annotate(
            run_count=Count("practice_runs", distinct=True),
            finished_count=Count("practice_runs", filter=done, distinct=True),
            resolved_count=Count(
                "practice_runs",
                filter=Q(practice_runs__outcome__in=sorted(SUCCESS_OUTCOMES)),
                distinct=True,
            ),
            average=Avg("practice_runs__overall", filter=done),
            best=Max("practice_runs__overall"),
        )
        .order_by("first_name", "username")
    )
    return [
        TraineeResult(
            trainee=row,
            runs=row.run_count,
            finished=row.finished_count,
            resolved=row.resolved_count,
            average=round(row.average, 1) if row.average is not None else None,
            best=row.best,
        )
        for row in rows
    ]
