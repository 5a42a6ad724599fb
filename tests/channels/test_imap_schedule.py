"""The worker keeps polling on its own: one chain of scheduled poll tasks, never two."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from calmdesk.channels.imap import imap_poll_scheduled, imap_polling_start
from calmdesk.channels.models import PollSchedule

pytestmark = pytest.mark.django_db


def _run_after(task: DBTaskResult) -> Any:
    """None when the task may run at once (the backend stores that as the year 9999)."""
    return None if task.run_after == get_date_max() else task.run_after


def _poll_tasks() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(task_path__endswith="poll_imap_mailboxes").order_by(
            "enqueued_at"
        )
    )


def test_one_chain_of_polls_reschedules_itself(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CALMDESK_IMAP_MAILBOXES = []  # nothing to fetch; the schedule is what is tested
    settings.CALMDESK_IMAP_POLL_SECONDS = 30
    with django_capture_on_commit_callbacks(execute=True):
        assert imap_polling_start() is True
        assert imap_polling_start() is False  # already alive
    [first] = _poll_tasks()
    assert _run_after(first) is None
    assert PollSchedule.objects.get(name="imap").task_id == str(first.id)

    # The worker runs it: the next poll is queued 30 s ahead and becomes the chain's.
    with django_capture_on_commit_callbacks(execute=True):
        imap_poll_scheduled(task_id=str(first.id))
    second = _poll_tasks()[-1]
    assert second.id != first.id and _run_after(second) is not None
    assert timedelta(seconds=25) < _run_after(second) - timezone.now() <= timedelta(seconds=30)
    assert PollSchedule.objects.get(name="imap").task_id == str(second.id)

    # A stray duplicate of an old run does not start a second chain.
    with django_capture_on_commit_callbacks(execute=True):
        imap_poll_scheduled(task_id=str(first.id))
    assert len(_poll_tasks()) == 2

    # A chain that died (nothing ran for far longer than the interval) can be started again.
    PollSchedule.objects.filter(name="imap").update(
        next_run_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert imap_polling_start() is True
    assert len(_poll_tasks()) == 3


@pytest.mark.django_db(transaction=True)  # the worker's commits must really happen
def test_the_real_worker_runs_a_poll_and_queues_the_next(settings: Any) -> None:
    settings.CALMDESK_IMAP_MAILBOXES = []
    imap_polling_start()
    call_command("db_worker", batch=True, interval=0.1, reload=False, verbosity=0)
    tasks = _poll_tasks()
    assert [task.status for task in tasks] == ["SUCCESSFUL", "READY"]
    assert _run_after(tasks[1]) is not None
